#!/usr/bin/env node
// The S3 server the tests talk to: s3rver (npm) behind this proxy, which adds what s3rver
// lacks and real S3 has, so that a test passing here proves what it claims.
//
//   node s3proxy.js LISTEN_PORT UPSTREAM_PORT        (both on 127.0.0.1)
//   env S3_ACCESS_KEY, S3_SECRET_KEY, S3_REGION      (S3RVER, S3RVER, us-east-1)
//
// - Signatures: every request must carry a valid AWS Signature V4 Authorization header
//   (recomputed from the canonical request as S3 does it: URI re-encoded per segment, query
//   decoded, re-encoded and sorted, signed headers trimmed, payload hash from
//   x-amz-content-sha256, which must match the body, or STREAMING-AWS4-HMAC-SHA256-PAYLOAD
//   with every aws-chunked chunk's signature checked in turn, as the AWS SDKs and restic send
//   over plain http; the decoded body goes on). s3rver accepts any signature.
// - Conditional writes: PUT with If-None-Match: * fails with 412 when the key exists
//   (s3rver ignores the header); such PUTs of one key are serialised, so two racing writers
//   cannot both succeed.
// - AbortMultipartUpload answers 204 (s3rver has no such call).
// - Faults, for the tests that need a misbehaving server: POST /__upkeep/faults with
//   status=CODE&count=N (the next N requests get CODE), drop=N (the next N connections are
//   cut before any answer), delay_ms=MS&count=N (the next N requests wait first).
// - Counts: GET /__upkeep/stats gives requests by kind (PUT, GET, HEAD, DELETE, LIST,
//   POST) and rejections as JSON; POST /__upkeep/reset zeroes them and clears the faults.
// Every rejection is also logged to stderr as "REJECT METHOD URL: CODE: MESSAGE".
'use strict';
const http = require('http');
const crypto = require('crypto');

const CFG = {
  key: process.env.S3_ACCESS_KEY || 'S3RVER',
  secret: process.env.S3_SECRET_KEY || 'S3RVER',
  region: process.env.S3_REGION || 'us-east-1',
};

const STREAMING = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const sha256hex = (b) => crypto.createHash('sha256').update(b).digest('hex');
const hmac = (k, s) => crypto.createHmac('sha256', k).update(s).digest();
// RFC 3986 as S3 wants it: everything but A-Za-z0-9-_.~ as %XX, upper case.
const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g,
  (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function canonicalUri(rawPath) {
  return rawPath.split('/').map((seg) => enc(decodeURIComponent(seg))).join('/');
}

function canonicalQuery(rawQuery) {
  if (!rawQuery) return '';
  return rawQuery.split('&').filter((p) => p.length).map((p) => {
    const i = p.indexOf('=');
    const k = i < 0 ? p : p.slice(0, i);
    const v = i < 0 ? '' : p.slice(i + 1);
    return [enc(decodeURIComponent(k)), enc(decodeURIComponent(v))];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => k + '=' + v).join('&');
}

function headerMap(rawHeaders) {
  const m = new Map();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const n = rawHeaders[i].toLowerCase();
    const v = String(rawHeaders[i + 1]).trim().replace(/\s+/g, ' ');
    m.set(n, m.has(n) ? m.get(n) + ',' + v : v);
  }
  return m;
}

// {ok: true} or {ok: false, status, code, message}
function verify(method, url, rawHeaders, body, now = new Date()) {
  const h = headerMap(rawHeaders);
  const fail = (status, code, message) => ({ ok: false, status, code, message });
  const auth = h.get('authorization');
  if (!auth) return fail(403, 'AccessDenied', 'anonymous requests are refused');
  const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return fail(400, 'AuthorizationHeaderMalformed', 'cannot parse ' + auth);
  const [, credential, signedHeaders, given] = m;
  const [key, date, region, service, term] = credential.split('/');
  if (key !== CFG.key) return fail(403, 'InvalidAccessKeyId', 'unknown access key ' + key);
  if (region !== CFG.region || service !== 's3' || term !== 'aws4_request')
    return fail(400, 'AuthorizationHeaderMalformed', 'bad credential scope ' + credential);
  const amzDate = h.get('x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date)
    return fail(403, 'AccessDenied', 'missing or inconsistent x-amz-date');
  const t = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8),
    +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(now.getTime() - t) > 15 * 60 * 1000) return fail(403, 'RequestTimeTooSkewed', 'clock skew');
  const payloadHash = h.get('x-amz-content-sha256');
  if (!payloadHash) return fail(400, 'InvalidRequest', 'missing x-amz-content-sha256');
  if (/^[0-9a-f]{64}$/.test(payloadHash)) {
    if (sha256hex(body) !== payloadHash)
      return fail(400, 'XAmzContentSHA256Mismatch', 'x-amz-content-sha256 does not match the body');
  } else if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== STREAMING) {
    return fail(400, 'InvalidArgument', 'bad x-amz-content-sha256');
  }
  const signed = signedHeaders.split(';');
  if (!signed.includes('host')) return fail(403, 'SignatureDoesNotMatch', 'host is not signed');
  for (const n of h.keys())
    if (n.startsWith('x-amz-') && !signed.includes(n)) return fail(403, 'AccessDenied', n + ' is not signed');
  for (const n of signed) if (!h.has(n)) return fail(403, 'SignatureDoesNotMatch', 'signed header ' + n + ' is missing');
  const q = url.indexOf('?');
  let canonical;
  try {
    canonical = [method, canonicalUri(q < 0 ? url : url.slice(0, q)), canonicalQuery(q < 0 ? '' : url.slice(q + 1)),
      signed.map((n) => n + ':' + h.get(n)).join('\n') + '\n', signedHeaders, payloadHash].join('\n');
  } catch (e) {
    return fail(400, 'InvalidURI', 'cannot parse the URI');
  }
  const scope = `${date}/${CFG.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
  const kSigning = hmac(hmac(hmac(hmac('AWS4' + CFG.secret, date), CFG.region), 's3'), 'aws4_request');
  if (hmac(kSigning, toSign).toString('hex') !== given)
    return fail(403, 'SignatureDoesNotMatch', 'the signature does not match; canonical request:\n' + canonical);
  if (h.has('transfer-encoding')) return fail(501, 'NotImplemented', 'chunked uploads are not accepted');
  if (payloadHash !== STREAMING) return { ok: true, headers: h, body };
  const decoded = decodeChunks(body, given, amzDate, scope, kSigning);
  if (typeof decoded === 'string') return fail(403, 'SignatureDoesNotMatch', decoded);
  if (String(decoded.length) !== h.get('x-amz-decoded-content-length'))
    return fail(400, 'IncompleteBody', 'x-amz-decoded-content-length does not match the chunks');
  return { ok: true, headers: h, body: decoded };
}

// aws-chunked: "HEX;chunk-signature=SIG\r\nDATA\r\n" ... ending with a chunk of size 0; each
// signature chains from the one before (the seed is the Authorization header's). Returns the
// data, or a message.
function decodeChunks(body, seed, amzDate, scope, kSigning) {
  const parts = [];
  let previous = seed, at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) return 'truncated aws-chunked body';
    const m = /^([0-9a-fA-F]+);chunk-signature=([0-9a-f]{64})$/.exec(body.slice(at, eol).toString());
    if (!m) return 'malformed aws-chunked header';
    const size = parseInt(m[1], 16), data = body.slice(eol + 2, eol + 2 + size);
    if (data.length !== size || body.slice(eol + 2 + size, eol + 4 + size).toString() !== '\r\n')
      return 'truncated aws-chunked chunk';
    const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, previous, sha256hex(''), sha256hex(data)].join('\n');
    if (hmac(kSigning, toSign).toString('hex') !== m[2]) return 'a chunk signature does not match';
    previous = m[2];
    at = eol + 4 + size;
    if (size === 0) return at === body.length ? Buffer.concat(parts) : 'data after the last chunk';
    parts.push(data);
  }
}

const stats = { PUT: 0, GET: 0, HEAD: 0, DELETE: 0, LIST: 0, POST: 0, rejected: 0, faults: 0 };
let faults = { status: 0, statusCount: 0, drop: 0, delayMs: 0, delayCount: 0 };
const keyQueues = new Map(); // conditional PUTs of one key, one at a time

function kind(method, url) {
  if (method === 'GET' && /[?&]list-type=2/.test(url)) return 'LIST';
  return method;
}

function xmlError(res, status, code, message, method) {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${String(message)
    .replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' }[c]))}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
  res.end(method === 'HEAD' ? undefined : xml);
}

function upstream(port, req, body, res, done) {
  const headers = { ...req.headers };
  delete headers.expect; delete headers['transfer-encoding']; delete headers.connection;
  delete headers['if-none-match'];
  if (headers['x-amz-content-sha256'] === STREAMING) { // decoded by verify()
    headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
    delete headers['x-amz-decoded-content-length'];
    const enc = (headers['content-encoding'] || '').split(',').map((e) => e.trim()).filter((e) => e && e !== 'aws-chunked');
    if (enc.length) headers['content-encoding'] = enc.join(','); else delete headers['content-encoding'];
  }
  if (body.length || req.method === 'PUT' || req.method === 'POST') headers['content-length'] = String(body.length);
  const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
    ur.on('end', done);
  });
  up.on('error', (e) => { res.writeHead(502); res.end(String(e)); done(); });
  up.end(body);
}

function exists(port, req, callback) {
  // s3rver is not asked to check signatures, so a HEAD of our own needs none.
  const path = req.url.split('?')[0];
  const head = http.request({ host: '127.0.0.1', port, method: 'HEAD', path,
    headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', authorization: req.headers.authorization,
      'x-amz-date': req.headers['x-amz-date'] } }, (r) => { r.resume(); callback(r.statusCode === 200); });
  head.on('error', () => callback(false));
  head.end();
}

function control(req, res, url) {
  const params = new URL(url, 'http://x').searchParams;
  if (url.startsWith('/__upkeep/stats')) {
    const json = JSON.stringify(stats);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end(json);
  }
  if (url.startsWith('/__upkeep/reset')) {
    for (const k of Object.keys(stats)) stats[k] = 0;
    faults = { status: 0, statusCount: 0, drop: 0, delayMs: 0, delayCount: 0 };
  } else if (url.startsWith('/__upkeep/faults')) {
    if (params.has('status')) { faults.status = +params.get('status'); faults.statusCount = +(params.get('count') || 1); }
    if (params.has('drop')) faults.drop = +params.get('drop');
    if (params.has('delay_ms')) { faults.delayMs = +params.get('delay_ms'); faults.delayCount = +(params.get('count') || 1); }
  }
  res.writeHead(204);
  res.end();
}

function serve(listenPort, upstreamPort) {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url.startsWith('/__upkeep/')) return control(req, res, req.url);
      if (faults.drop > 0) {
        faults.drop--; stats.faults++;
        return req.socket.destroy();
      }
      if (faults.statusCount > 0) {
        faults.statusCount--; stats.faults++;
        return xmlError(res, faults.status, faults.status === 503 ? 'SlowDown' : 'InternalError', 'injected fault', req.method);
      }
      const go = () => handle(req, res, Buffer.concat(chunks), upstreamPort);
      if (faults.delayCount > 0) {
        faults.delayCount--; stats.faults++;
        return setTimeout(go, faults.delayMs);
      }
      go();
    });
  });
  server.keepAliveTimeout = 30000;
  server.listen(listenPort, '127.0.0.1', () => console.log(`s3proxy listening on 127.0.0.1:${listenPort} -> ${upstreamPort}`));
}

function handle(req, res, body, upstreamPort) {
  const r = verify(req.method, req.url, req.rawHeaders, body);
  if (r.ok) body = r.body;
  if (!r.ok) {
    stats.rejected++;
    process.stderr.write(`REJECT ${req.method} ${req.url}: ${r.code}: ${r.message.split('\n')[0]}\n`);
    return xmlError(res, r.status, r.code, r.message, req.method);
  }
  stats[kind(req.method, req.url)]++;
  if (req.method === 'DELETE' && /[?&]uploadId=/.test(req.url)) { // AbortMultipartUpload
    res.writeHead(204);
    return res.end();
  }
  if (req.method === 'PUT' && r.headers.get('if-none-match') === '*') {
    const key = req.url.split('?')[0];
    const previous = keyQueues.get(key) || Promise.resolve();
    const mine = previous.then(() => new Promise((resolve) => {
      exists(upstreamPort, req, (found) => {
        if (found) {
          xmlError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', req.method);
          return resolve();
        }
        upstream(upstreamPort, req, body, res, resolve);
      });
    }));
    keyQueues.set(key, mine);
    mine.then(() => { if (keyQueues.get(key) === mine) keyQueues.delete(key); });
    return;
  }
  upstream(upstreamPort, req, body, res, () => {});
}

if (process.argv.length >= 4) serve(+process.argv[2], +process.argv[3]);
else { console.error('usage: s3proxy.js LISTEN_PORT UPSTREAM_PORT'); process.exit(2); }
