// Container health probe (Dockerfile HEALTHCHECK): GET /healthz on the KBS inside the same container.
// The image has no curl/wget, so node does it. URL: env KBS_HEALTHCHECK_URL (default http://127.0.0.1:8080/healthz).
// For an https:// URL on a loopback host the certificate is not verified: the probe sends no credentials and
// reads nothing but the status code, and the KBS's certificate is usually issued for its public name.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const url = new URL(process.env.KBS_HEALTHCHECK_URL ?? 'http://127.0.0.1:8080/healthz');
const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
const req = request(url, { method: 'GET', timeout: 4000, rejectUnauthorized: !loopback }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
