/**
 * Prometheus metrics with Trustee's names (specs/trustee.md §6.6); only requests under `/kbs` are counted. Unlike
 * Trustee, response sizes go into `kbs_http_response_size_bytes` (Trustee observes them into the request histogram).
 * One registry per server instance, so several servers (tests) never share counters.
 *
 * With `worker_count` > 1 each worker process has its own registry and `/metrics` renders the sum over all workers
 * (src/kbs/cluster/): `aggregator` says how a metric combines across workers (counters, histograms and gauges sum by
 * default; the build info is the same in every worker and must not be multiplied).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class KbsMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({ name: 'kbs_http_requests_total', help: 'HTTP requests under /kbs', labelNames: ['method', 'status'], registers: [this.registry] });
  readonly httpDuration = new Histogram({
    name: 'kbs_http_request_duration_seconds',
    help: 'HTTP request duration',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.5, 1],
    registers: [this.registry],
  });
  readonly requestSize = new Histogram({ name: 'kbs_http_request_size_bytes', help: 'HTTP request body size', buckets: [32, 128, 512, 2048, 8192], registers: [this.registry] });
  readonly responseSize = new Histogram({ name: 'kbs_http_response_size_bytes', help: 'HTTP response body size', buckets: [32, 128, 512, 2048, 8192], registers: [this.registry] });
  readonly activeConnections = new Gauge({ name: 'kbs_http_active_connections', help: 'Requests being served', registers: [this.registry] });
  readonly resourceReads = new Counter({ name: 'kbs_resource_reads_total', help: 'Resources released', labelNames: ['resource_path'], registers: [this.registry] });
  readonly resourceWrites = new Counter({ name: 'kbs_resource_writes_total', help: 'Resources written', labelNames: ['resource_path'], registers: [this.registry] });
  readonly resourceDeletes = new Counter({ name: 'kbs_resource_deletes_total', help: 'Resources deleted', labelNames: ['resource_path'], registers: [this.registry] });
  readonly policyEvaluations = new Counter({ name: 'kbs_policy_evaluations_total', help: 'Resource policy evaluations', registers: [this.registry] });
  readonly policyApprovals = new Counter({ name: 'kbs_policy_approvals_total', help: 'Resource policy approvals', registers: [this.registry] });
  readonly policyViolations = new Counter({ name: 'kbs_policy_violations_total', help: 'Resource policy denials', registers: [this.registry] });
  readonly policyErrors = new Counter({ name: 'kbs_policy_errors_total', help: 'Resource policy errors', registers: [this.registry] });
  readonly attestationRequests = new Counter({ name: 'kbs_attestation_requests_total', help: 'Attestation requests', registers: [this.registry] });
  readonly attestationSuccesses = new Counter({ name: 'kbs_attestation_successes_total', help: 'Successful attestations', labelNames: ['tee_type'], registers: [this.registry] });
  readonly attestationFailures = new Counter({ name: 'kbs_attestation_failures_total', help: 'Failed attestations', labelNames: ['tee_type'], registers: [this.registry] });
  readonly attestationErrors = new Counter({ name: 'kbs_attestation_errors_total', help: 'Attestation errors before evaluation', registers: [this.registry] });
  readonly authRequests = new Counter({ name: 'kbs_auth_requests_total', help: 'RCAR /auth requests', registers: [this.registry] });
  readonly authSuccesses = new Counter({ name: 'kbs_auth_successes_total', help: 'Successful /auth', registers: [this.registry] });
  readonly authErrors = new Counter({ name: 'kbs_auth_errors_total', help: 'Failed /auth', registers: [this.registry] });

  /** What `GET /metrics` answers: this registry, unless a multi-process KBS replaced it (`renderWith`). */
  private renderer: () => Promise<string> = () => this.registry.metrics();

  constructor(version: string) {
    const info = new Gauge({
      name: 'kbs_build_info',
      help: 'Build information',
      labelNames: ['version', 'git_hash', 'build_date'],
      aggregator: 'first',
      registers: [this.registry],
    });
    info.set({ version, git_hash: 'unknown', build_date: 'unknown' }, 1);
  }

  /** The text exposition for `GET /metrics` (content type `registry.contentType`). */
  render(): Promise<string> {
    return this.renderer();
  }

  /** Serve another text on `GET /metrics`: a cluster worker asks its primary for the sum over every worker. */
  renderWith(renderer: () => Promise<string>): void {
    this.renderer = renderer;
  }
}
