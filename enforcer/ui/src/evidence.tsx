/** A flag's evidence as an analyst reads it: what crossed which threshold, where, when, how fast. */

import type { EvidenceItem } from '../../../core/schemas/generated.ts';
import { clock, duration, num, time } from './format.ts';
import type { Anomaly } from './types.ts';

const RULE_UNITS: Record<string, string> = {
  'token-network-spread': 'networks',
  'geo-spread': 'far-apart regions',
  'impossible-travel': 'km/h',
  'account-concurrency': 'concurrent sessions',
  'title-concurrency': 'sessions on one title',
  'group-concurrency': 'sessions in one group',
  'cmcd-concurrency': 'players at once (CMCD)',
  'segment-fanout': 'clients on one segment',
  'request-rate': '× real time',
  'segment-without-session': 'segments without a session',
  'datacenter-source': 'data-centre requests',
  'cat-replay': 'replays',
  'cat-network-binding': 'networks outside the binding',
};

export function Threshold({ a }: { a: Anomaly }) {
  const unit = RULE_UNITS[a.rule] ?? '';
  return (
    <span class="threshold">
      <strong>{num(a.observed)}</strong> {unit} <span class="muted">over a limit of</span> {num(a.threshold)}
    </span>
  );
}

function Items({ title, items }: { title: string; items: EvidenceItem[] }) {
  if (items.length === 0) return null;
  const max = Math.max(...items.map((i) => i.count));
  return (
    <div class="ev-block">
      <h4>
        {title} <span class="muted">({items.length})</span>
      </h4>
      <table class="ev">
        <tbody>
          {items.map((i) => (
            <tr key={i.value}>
              <td class="mono">{i.value}</td>
              <td class="num">{num(i.count)}</td>
              <td class="bar-cell">
                <span class="bar" style={{ width: `${Math.max(4, (i.count / max) * 100)}%` }} />
              </td>
              <td class="muted nowrap">
                {clock(i.firstSeenMs)} → {clock(i.lastSeenMs)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function segmentParts(a: Anomaly): { account: string; content: string; segment: string } | null {
  if (a.subjectKind !== 'segment') return null;
  const [account = '', content = '', segment = ''] = a.subjectKey.split('|');
  return { account, content, segment };
}

export function Evidence({ a }: { a: Anomaly }) {
  const e = a.evidence;
  const seg = segmentParts(a);
  return (
    <div class="evidence">
      <p class="ev-summary">
        <Threshold a={a} /> · {num(e.eventCount)} events from {time(a.windowStartMs)} to{' '}
        {clock(a.windowEndMs)} ({duration(a.windowEndMs - a.windowStartMs)})
      </p>
      {e.note && <p class="ev-note">{e.note}</p>}
      {e.travel && (
        <div class="ev-block travel">
          <h4>Travel</h4>
          <p>
            <strong>{e.travel.fromCountry ?? '?'}</strong>
            <span class="muted"> ({e.travel.fromNetwork ?? 'unknown network'})</span> →{' '}
            <strong>{e.travel.toCountry ?? '?'}</strong>
            <span class="muted"> ({e.travel.toNetwork ?? 'unknown network'})</span>
          </p>
          <p>
            {e.travel.minDistanceKm === null ? (
              <>{num(Math.round(e.travel.distanceKm))} km</>
            ) : (
              <>
                at least {num(Math.round(e.travel.minDistanceKm))} km apart after each position's uncertainty{' '}
                <span class="muted">({num(Math.round(e.travel.distanceKm))} km between centres)</span>
              </>
            )}{' '}
            in {duration(e.travel.elapsedMs)} = <strong>{num(Math.round(e.travel.speedKmh))} km/h</strong>
            {e.travel.switches > 1 && <> · {e.travel.switches} impossible switches (two places at once)</>}
          </p>
        </div>
      )}
      {e.ruledOut.length > 0 && (
        <div class="ev-block">
          <h4>Ruled out</h4>
          <ul class="ruled-out">
            {e.ruledOut.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </div>
      )}
      {e.signals.length > 0 && (
        <p class="muted">Signals of this tenant when flagged: {e.signals.join(', ')}</p>
      )}
      {seg && (
        <div class="ev-block">
          <h4>Segment crowd</h4>
          <p>
            Segment <strong>{seg.segment}</strong> of <span class="mono">{seg.content}</span> on account{' '}
            <span class="mono">{seg.account}</span> fetched by {num(a.observed)} clients
          </p>
        </div>
      )}
      <div class="ev-grid">
        <Items title="Networks" items={e.networks} />
        <Items title="Countries" items={e.countries} />
        <Items title="ASNs" items={e.asns} />
        <Items title="Devices" items={e.devices} />
      </div>
      {e.sessions.length > 0 && (
        <div class="ev-block">
          <h4>
            Sessions <span class="muted">({e.sessions.length})</span>
          </h4>
          <table class="ev">
            <thead>
              <tr>
                <th>session</th>
                <th>device</th>
                <th>content</th>
                <th>network</th>
                <th>country</th>
                <th>started</th>
                <th>last seen</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {e.sessions.map((s) => (
                <tr key={s.sessionId}>
                  <td class="mono">{s.sessionId}</td>
                  <td>{s.deviceId ?? '—'}</td>
                  <td>{s.contentId ?? '—'}</td>
                  <td class="mono">{s.networkPrefix ?? '—'}</td>
                  <td>{s.country ?? '—'}</td>
                  <td class="nowrap">{clock(s.startedAtMs)}</td>
                  <td class="nowrap">{clock(s.lastSeenMs)}</td>
                  <td>{s.evict && <span class="pill bad">evict</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
