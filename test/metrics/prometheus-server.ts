// A real Prometheus server (Debian package prometheus) for tests: one scrape job with a 1 s interval,
// storage in a temp directory. Shared by the metrics-module test and the daemon lab test.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One sample of an instant query's vector result (/api/v1/query). */
export interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

export interface QueryAnswer {
  status: string;
  data: { result: VectorResult[] };
}

/** Writes DIR/prometheus.yml scraping `target` (HOST:PORT) every second as job "mssmangler"; returns the arguments for `prometheus`. */
export function prometheusArgs(dir: string, target: string, listen: string): string[] {
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: mssmangler',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  return [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${listen}`];
}

/** The instant-query URL for a PromQL expression on a server listening at `listen`. */
export function queryUrl(listen: string, promql: string): string {
  return `http://${listen}/api/v1/query?query=${encodeURIComponent(promql)}`;
}
