/** A uPlot time-series chart (bundled; draws on a canvas, so nothing it shows is parsed as HTML). */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#d97706',
  '#7c3aed',
  '#0891b2',
  '#db2777',
  '#65a30d',
  '#475569',
  '#ea580c',
];

export function colorOf(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

export interface Series {
  label: string;
  values: number[];
}

export function TimeChart({
  startMs,
  stepMs,
  series,
  height = 220,
  bars = false,
}: {
  startMs: number;
  stepMs: number;
  series: Series[];
  height?: number;
  bars?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const n = series[0]?.values.length ?? 0;
    const xs = Array.from({ length: n }, (_, i) => (startMs + i * stepMs) / 1000);
    const data: uPlot.AlignedData = [xs, ...series.map((s) => s.values)];
    const plot = new uPlot(
      {
        width: Math.max(320, el.clientWidth),
        height,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        legend: { show: true, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [
          { stroke: '#64748b', grid: { stroke: '#eef2f7' } },
          { stroke: '#64748b', grid: { stroke: '#eef2f7' }, size: 44 },
        ],
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: colorOf(i),
            fill: bars ? `${colorOf(i)}99` : `${colorOf(i)}14`,
            width: 2,
            paths: bars ? uPlot.paths.bars?.({ size: [0.7, 40] }) : undefined,
            points: { show: false },
          })),
        ],
      },
      data,
      el,
    );
    return () => plot.destroy();
  }, [startMs, stepMs, series, height, bars]);
  return <div class="chart" ref={box} />;
}
