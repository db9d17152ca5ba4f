import { Option, type Command } from 'commander';
import { loadTokens, type TokenSet } from '../exporter/auth/tokens';
import { PrometheusClient } from '../exporter/guards/promql';
import { loadPolicy, type Policy } from '../exporter/policy';

// Safety flags shared by `faultline start` and `faultline exporter`: tokens, blast radius policy,
// the Prometheus that PromQL guards query, and what a blind PromQL guard does.

export interface SafetyFlags {
  tokensFile?: string;
  policyFile?: string;
  prometheusUrl?: string;
  promqlMaxFailures: string;
  promqlOnFailure: 'abort' | 'ignore';
}

export function safetyOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--tokens-file <file>', 'API tokens, YAML or JSON [{name, token|sha256, role}] (else FAULTLINE_TOKENS; none: loopback only)').env('FAULTLINE_TOKENS_FILE'))
    .addOption(new Option('--policy-file <file>', 'blast radius policy, YAML or JSON (protected namespaces, max concurrent, max duration, ...)').env('FAULTLINE_POLICY_FILE'))
    .addOption(new Option('--prometheus-url <url>', 'Prometheus that PromQL guards query (instant queries)').env('FAULTLINE_PROMETHEUS_URL'))
    .addOption(new Option('--promql-max-failures <n>', 'failed PromQL guard evaluations in a row before --promql-on-failure applies').env('FAULTLINE_PROMQL_MAX_FAILURES').default('3'))
    .addOption(
      new Option('--promql-on-failure <what>', 'when Prometheus cannot answer: abort the experiment, or ignore (run blind, with an event)')
        .choices(['abort', 'ignore'])
        .env('FAULTLINE_PROMQL_ON_FAILURE')
        .default('abort'),
    );
}

export interface SafetyConfig {
  tokens: TokenSet;
  policy: Policy;
  prometheusUrl?: string;
  promqlMaxFailures: number;
  promqlOnFailure: 'abort' | 'ignore';
}

/** Reads and checks the safety flags; throws an Error naming the flag. */
export function safetyConfig(o: SafetyFlags, env: NodeJS.ProcessEnv = process.env): SafetyConfig {
  const n = Number(o.promqlMaxFailures);
  if (!/^[0-9]+$/.test(o.promqlMaxFailures) || n < 1 || n > 1000) throw new Error(`--promql-max-failures "${o.promqlMaxFailures}" must be a whole number from 1 to 1000`);
  if (o.prometheusUrl) new PrometheusClient(o.prometheusUrl); // throws on a bad URL, naming the flag
  const tokens = loadTokens({ file: o.tokensFile, env: env.FAULTLINE_TOKENS });
  return { tokens, policy: loadPolicy(o.policyFile), prometheusUrl: o.prometheusUrl || undefined, promqlMaxFailures: n, promqlOnFailure: o.promqlOnFailure };
}

/** Loopback-only listen without tokens is the only anonymous setup; say so when it would lock everyone out. */
export function anonymousWarning(listen: string, cfg: SafetyConfig): string | undefined {
  const host = listen.replace(/:[0-9]+$/, '').replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  if (cfg.tokens.size === 0 && !loopback) return `listening on ${listen} without tokens: only loopback clients are admitted (give --tokens-file or FAULTLINE_TOKENS)`;
  return undefined;
}
