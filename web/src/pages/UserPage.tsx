import { PageHeader } from "../ui.tsx";

export default function UserPage() {
  return (
    <div className="page">
      <PageHeader title="User" />
    </div>
  );
}
