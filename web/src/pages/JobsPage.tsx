import { PageHeader } from "../ui.tsx";

export default function JobsPage() {
  return (
    <div className="page">
      <PageHeader title="Bulk jobs" />
    </div>
  );
}
