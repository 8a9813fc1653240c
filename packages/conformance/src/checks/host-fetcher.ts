import { conformanceFailure } from '../conformance-failure.js';
import { KIT_HEADER, KIT_HEADER_VALUE, type ConformanceContext } from '../conformance-context.js';

/**
 * Rule `requests-through-host`: the kit's syncs give the host's fetcher a header; every request the
 * fixture server receives during an immediate and an on_demand sync must carry it. A request without
 * it was made around the host (global fetch, an own HTTP client): it skips the remote's TLS settings,
 * proxy, credentials, size caps, retries and cancellation.
 */
export async function checkRequestsThroughHost(ctx: ConformanceContext): Promise<void> {
  const rule = 'requests-through-host';
  await ctx.withScope(async (scope) => {
    const testHost = await scope.host();
    const upstream = await scope.upstream('initial');
    await ctx.syncExpectingSuccess(rule, "an immediate sync of the fixture's initial state", testHost, 'through-host', upstream);
    upstream.serve(await ctx.state('changed'));
    await ctx.syncExpectingSuccess(rule, 'an on_demand sync of the changed state', testHost, 'through-host-on-demand', upstream, { policy: 'on_demand' });
    const around = upstream.server.requests.filter((r) => r.headers[KIT_HEADER] !== KIT_HEADER_VALUE);
    if (around.length > 0) {
      const shown = around.slice(0, 3).map((r) => `${r.method} ${r.path} (user-agent ${JSON.stringify(r.headers['user-agent'] ?? '')})`);
      conformanceFailure(
        rule,
        `${around.length} request(s) upstream did not go through the host's fetcher: ${shown.join(', ')}${around.length > 3 ? ', …' : ''}.\n` +
          'Download every index page and file with ctx.fetcher.download(url, expected, signal): it carries the remote\'s TLS settings, proxy, credentials, size caps and cancellation',
      );
    }
  });
}
