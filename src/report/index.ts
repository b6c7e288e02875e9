export {
  buildReport,
  largestConfusions,
  DECISION_ICON,
  type ReportInput,
  type ReportContent,
  type HistoryPoint,
  type MetricRow,
  type ClassRow,
} from './model.js';
export { renderMarkdown, markdownReport, perClassChart, historyChart, confusionTable, cell } from './markdown.js';
export { renderHtml, htmlReport, perClassSvg, historySvg, esc } from './html.js';
