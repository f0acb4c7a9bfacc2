/**
 * Reports: the DR drill report and the compliance evidence report, each as a
 * self-contained HTML page and as JSON, plus PDF export through Chromium.
 */
export { renderDrillReport, drillReportJson } from './drill-report';
export type { DrillReportData, DrillReportJson, DrillResult, DrillObjectives, GrowthPoint } from './drill-report';
export { renderComplianceReport, complianceReportJson, NOT_A_CERTIFICATION } from './compliance-report';
export type {
  ComplianceReportData,
  ComplianceReportJson,
  ComplianceFinding,
  AlgorithmsInUse,
  KeyEvidence,
  RotationEvidence,
  RetentionEvidence,
  SourceEvidence,
  AuditEvidence,
} from './compliance-report';
export { renderPdf, launchChromium, CHROMIUM_ARGS, CHROMIUM_PATH } from './pdf';
export { writeReportFile } from './write';
export { drillResultFromWorkflow, drillResultFromRecord, algorithmsFromRepoConfig, auditEvidenceFromVerify } from './adapters';
