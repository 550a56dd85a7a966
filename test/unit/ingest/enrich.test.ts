import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectCmcd } from '../../../ingest/transforms/enrich/cmcd.ts';
import { AsnRanges } from '../../../ingest/transforms/enrich/geo.ts';
import { compileMedia, mediaInfo, mediaSection } from '../../../ingest/transforms/enrich/media.ts';
import { networkPrefix } from '../../../ingest/transforms/enrich/network.ts';

describe('network prefix', () => {
  it('groups IPv4 by /24 and IPv6 by /48 by default, and unmaps IPv4-mapped IPv6', () => {
    assert.equal(networkPrefix('192.0.2.77'), '192.0.2.0/24');
    assert.equal(networkPrefix('2001:db8:abcd:12::1'), '2001:db8:abcd::/48');
    assert.equal(networkPrefix('::ffff:10.1.2.3'), '10.1.2.0/24');
    assert.equal(networkPrefix('not-an-ip'), null);
  });
  it('honours configured prefix lengths', () => {
    assert.equal(networkPrefix('192.0.2.77', 16, 32), '192.0.0.0/16');
    assert.equal(networkPrefix('2001:db8:abcd:12::1', 24, 56), '2001:db8:abcd:0::/56'.replace(':0::', '::'));
  });
});

describe('ASN ranges', () => {
  it('finds the ASN of an address by binary search, IPv4 and IPv6, and nothing outside ranges', () => {
    const ranges = AsnRanges.fromCsv(
      '16777216,16777471,13335,"Cloudflare, Inc."\n16778240,16779263,38803,G\n',
      '42540488161975842760550356425300246528,42540488241204005274814694018844196863,6939,HE\n',
    );
    assert.equal(ranges.lookup('1.0.0.1'), 13335);
    assert.equal(ranges.lookup('1.0.4.5'), 38803);
    assert.equal(ranges.lookup('1.0.2.1'), null);
    assert.equal(ranges.lookup('2001:0:abcd::1'), 6939);
    assert.equal(ranges.lookup('2001:0::1'), 6939, 'first address of the range');
    assert.equal(ranges.lookup('2001:1::1'), null, 'past the end of the range');
    assert.equal(ranges.lookup('2000::1'), null, 'before the first range');
  });
});

describe('media facts from the URL', () => {
  const media = compileMedia(mediaSection.parse({}));
  it('reads HLS and DASH segment numbers and the content directory above rendition folders', () => {
    assert.deepEqual(mediaInfo('/live/match-42/720p/segment_00042.ts', media), {
      mediaType: 'video',
      segmentNumber: 42,
      contentId: 'match-42',
    });
    assert.deepEqual(mediaInfo('/dash/show7/video/3000k/chunk-stream0-00017.m4s', media), {
      mediaType: 'video',
      segmentNumber: 17,
      contentId: 'show7',
    });
    assert.equal(mediaInfo('/vod/movie1/master.m3u8', media).mediaType, 'manifest');
    assert.equal(mediaInfo('/vod/movie1/master.m3u8', media).segmentNumber, null);
    assert.equal(mediaInfo('/live/ch1/init.mp4', media).mediaType, 'init');
  });
  it('lets CMCD ot decide the media type and an operator pattern decide segment and content', () => {
    assert.equal(mediaInfo('/x/y/seg_1.m4s', media, 'a').mediaType, 'audio');
    const custom = compileMedia(
      mediaSection.parse({ segmentPatterns: ['^/c/(?<content>[^/]+)/n(?<segment>\\d+)$'] }),
    );
    assert.deepEqual(mediaInfo('/c/title-9/n77', custom), {
      mediaType: 'video',
      segmentNumber: 77,
      contentId: 'title-9',
    });
  });
  it('answers a path the same whatever CMCD ot earlier requests of it carried', () => {
    const shared = compileMedia(mediaSection.parse({}));
    const paths = ['/live/ch1/720p/seg_9.ts', '/vod/m/master.m3u8', '/live/ch1/init.mp4', '/a/b', '/x'];
    const ots = [null, 'v', 'm', 'i', 'a', 'toString', 'zz'];
    for (let round = 0; round < 2; round++) {
      for (const path of paths) {
        for (const ot of ots) {
          const fresh = mediaInfo(path, compileMedia(mediaSection.parse({})), ot);
          assert.deepEqual(mediaInfo(path, shared, ot), fresh, `${path} ot=${ot}`);
        }
      }
    }
    // A manifest named like a segment has no segment number; `toString` is no media type.
    assert.deepEqual(mediaInfo('/live/ch1/720p/seg_9.ts', shared, 'm'), {
      mediaType: 'manifest',
      segmentNumber: null,
      contentId: 'ch1',
    });
    assert.equal(mediaInfo('/live/ch1/720p/seg_9.ts', shared, 'toString').mediaType, 'video');
  });
});

describe('CMCD', () => {
  it('reads the CMCD= query value, CMCD-* headers and separate fields, typed', () => {
    const q = `a=1&CMCD=${encodeURIComponent('bl=21300,br=3200,bs,cid="match-42",d=4004,ot=v,pr=1.5,sf=h,sid="s-1",st=l,v=1')}`;
    const c = collectCmcd(q, { 'cmcd-request': 'mtp=25400,su' }, ['tb', '6000'])!;
    assert.equal(c.bl, 21300);
    assert.equal(c.bs, true);
    assert.equal(c.cid, 'match-42');
    assert.equal(c.sid, 's-1');
    assert.equal(c.pr, 1.5);
    assert.equal(c.mtp, 25400);
    assert.equal(c.su, true);
    assert.equal(c.tb, 6000);
    assert.equal(c.ot, 'v');
  });
  it('reads CMCD from JSON and ignores wrongly typed values instead of rejecting the line', () => {
    const c = collectCmcd(null, {}, null, { sid: 's', br: 'fast', d: 2000 })!;
    assert.equal(c.sid, 's');
    assert.equal(c.br, null);
    assert.equal(c.d, 2000);
    assert.equal(collectCmcd('a=1', {}, null), null);
  });
});
