import { PageHeader } from "../ui.tsx";

export default function JobPage() {
  return (
    <div className="page">
      <PageHeader title="Bulk job" />
    </div>
  );
}
