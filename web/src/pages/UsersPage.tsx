import { PageHeader } from "../ui.tsx";

export default function UsersPage() {
  return (
    <div className="page">
      <PageHeader title="Users" />
    </div>
  );
}
