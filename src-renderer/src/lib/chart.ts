// What the uPlot charts (LiveChart, EntityChart over ChartCore) share: the line colours, the axis
// style and the line style. One place, so the charts look alike.
import type uPlot from 'uplot';

export const CHART_COLORS = ['#4f46e5', '#0ea5e9', '#16a34a', '#f59e0b', '#dc2626', '#9333ea', '#0d9488', '#64748b'];

/** An axis in the house style (grey ticks, light grid); `extra` adds or overrides. */
export function chartAxis(extra: uPlot.Axis = {}): uPlot.Axis {
  return { stroke: '#64748b', grid: { stroke: '#eef2f7' }, ...extra };
}

/** The i-th line: its colour from CHART_COLORS, 2 px, no points; `extra` adds or overrides. */
export function chartLine(label: string, i: number, extra: uPlot.Series = {}): uPlot.Series {
  return { label, stroke: CHART_COLORS[i % CHART_COLORS.length], width: 2, points: { show: false }, ...extra };
}
