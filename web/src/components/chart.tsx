/**
 * A time-series chart (uPlot, bundled: no CDN). uPlot draws into a canvas and styles its nodes from
 * script, which `default-src 'self'` allows (no inline <style> or style attributes in markup).
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
  /** Which y scale: the left one (default) or a second one on the right. */
  scale?: 'y' | 'y2';
  /** How a value reads in the legend, e.g. `v => v + ' ms'`. */
  format?: (v: number) => string;
  bars?: boolean;
}

export function TimeChart(props: { label: string; times: number[]; series: ChartSeries[]; height?: number; yLabel?: string; y2Label?: string; yRange?: [number, number] }) {
  const { label, times, series, height = 220, yLabel, y2Label, yRange } = props;
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const hasY2 = series.some((s) => s.scale === 'y2');
    const bars = uPlot.paths.bars?.({ size: [0.6, 40] });
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 300),
      height,
      cursor: { drag: { x: false, y: false } },
      // From 0, with headroom so a value at the top stays visible; a fixed range where the series has one (percent).
      scales: {
        x: { time: true },
        y: { range: yRange ?? ((_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.15))]) },
        ...(hasY2 ? { y2: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(1, Math.ceil(max * 1.15))] as uPlot.Range.MinMax } } : {}),
      },
      axes: [
        { stroke: '#5b6576', grid: { stroke: '#eceff3' } },
        { stroke: '#5b6576', grid: { stroke: '#eceff3' }, label: yLabel, size: 50 },
        ...(hasY2 ? [{ scale: 'y2', side: 1, stroke: '#5b6576', grid: { show: false }, label: y2Label, size: 60 } as uPlot.Axis] : []),
      ],
      series: [
        { label: 'Time', value: (_u, v) => (v === null ? '—' : new Date(v * 1000).toISOString().slice(0, 16).replace('T', ' ')) },
        ...series.map(
          (s): uPlot.Series => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            scale: s.scale ?? 'y',
            spanGaps: false,
            points: { show: times.length < 40 },
            ...(s.bars && bars ? { paths: bars, fill: `${s.color}55` } : {}),
            value: (_u, v) => (v === null || v === undefined ? '—' : s.format ? s.format(v) : String(v)),
          }),
        ),
      ],
    };
    const plot = new uPlot(opts, [times, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 300), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [JSON.stringify(times), JSON.stringify(series.map((s) => [s.label, s.values]))]);
  return <div class="chart" ref={box} role="img" aria-label={label} />;
}
