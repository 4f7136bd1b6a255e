import type { ReactNode } from "react";

export interface ChartColumn {
  header: string;
  /** Right-aligned numbers. */
  numeric?: boolean;
}

/**
 * The chart's data as a table: what a screen reader reads (the SVG is one image with a title and a
 * summary), and what anyone can open to read exact figures.
 */
export function ChartTable({ caption, columns, rows }: { caption: string; columns: ChartColumn[]; rows: ReactNode[][] }) {
  return (
    <details className="chart-table">
      <summary>Show as a table</summary>
      <table className="data">
        <caption>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.header} scope="col" style={c.numeric ? { textAlign: "right" } : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional and never reordered
            <tr key={i}>
              {r.map((cell, j) =>
                j === 0 ? (
                  <th key={columns[j]?.header ?? j} scope="row">
                    {cell}
                  </th>
                ) : (
                  <td key={columns[j]?.header ?? j} style={columns[j]?.numeric ? { textAlign: "right" } : undefined}>
                    {cell}
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
