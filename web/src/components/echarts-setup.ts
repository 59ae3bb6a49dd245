// ECharts, only the parts the dashboard draws, in its own chunk (loaded by chart.tsx on demand):
// the initial bundle stays small and later pages add their series (Sankey, funnel, heatmap) here.
import { BarChart, LineChart, PieChart, SankeyChart } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  LineChart,
  BarChart,
  PieChart,
  SankeyChart,
  GridComponent,
  TooltipComponent,
  LegendComponent,
  AriaComponent,
  CanvasRenderer,
]);

export { echarts };
