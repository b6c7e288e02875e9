export {
  buildReport,
  largestConfusions,
  DECISION_ICON,
  type ReportInput,
  type ReportContent,
  type HistoryPoint,
  type MetricRow,
  type ClassRow,
  type ChangedRow,
  type ClassChangeRow,
  type ExampleChanges,
  type Curves,
  type CurvePoint,
  trainingCurves,
} from './report-content.js';
export {
  renderMarkdown,
  markdownReport,
  perClassChart,
  historyChart,
  confusionTable,
  classChangeTable,
  changedExamplesTable,
  curvesChart,
  curvesTable,
  cell,
} from './markdown.js';
export { renderHtml, htmlReport, perClassSpec, historySpec, curvesSpec, classChangeSpec, esc } from './html.js';
export { renderChart, type ChartSpec } from './charts.js';
export { thumbnailPng, thumbnailUris, isImageShape } from './thumbnails.js';
