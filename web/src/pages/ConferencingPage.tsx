import { PageHeader } from "../ui.tsx";

export default function ConferencingPage() {
  return (
    <div className="page">
      <PageHeader title="Audio conferencing" />
    </div>
  );
}
