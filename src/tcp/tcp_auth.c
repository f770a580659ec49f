/* SPDX-License-Identifier: MIT */
/*
 * The tcp transport's pre-shared key (tcp_pvt.h, docs/tcp.md):
 *
 *   client -> HELLO, flag PSK, nonce cn
 *   server -> AUTH  nonce sn, HMAC-SHA256(key, "ivc-tcp S" cn sn)
 *   client -> AUTH  HMAC-SHA256(key, "ivc-tcp C" cn sn)
 *   server -> WELCOME (or REJECT -EACCES)
 *
 * Each side proves it holds the key over a nonce the other chose just
 * now, so a recorded exchange proves nothing later; the role in the MAC
 * keeps one side's proof from being played back as the other's.  It
 * authenticates the two ends at connect time only: nothing is encrypted,
 * and what follows is not authenticated.
 */
#include "tcp/tcp_pvt.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#ifdef IVC_HAVE_NETTLE
#include <nettle/hmac.h>
#endif

int ivc_tcp_nonce(uint8_t out[IVC_TCP_NONCE])
{
	ssize_t n;

	do
		n = getrandom(out, IVC_TCP_NONCE, 0);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)IVC_TCP_NONCE ? 0 : -EIO;
}

int ivc_tcp_proof(const struct tcp_opts *o, char role, const uint8_t *cn,
		  const uint8_t *sn, uint8_t out[IVC_TCP_MAC])
{
#ifdef IVC_HAVE_NETTLE
	static const char label[] = "ivc-tcp ";
	struct hmac_sha256_ctx c;
	uint8_t r = (uint8_t)role;

	hmac_sha256_set_key(&c, o->psk_len, o->psk);
	hmac_sha256_update(&c, sizeof(label) - 1, (const uint8_t *)label);
	hmac_sha256_update(&c, 1, &r);
	hmac_sha256_update(&c, IVC_TCP_NONCE, cn);
	hmac_sha256_update(&c, IVC_TCP_NONCE, sn);
	hmac_sha256_digest(&c, IVC_TCP_MAC, out);
	memset(&c, 0, sizeof(c));
	return 0;
#else
	(void)o;
	(void)role;
	(void)cn;
	(void)sn;
	memset(out, 0, IVC_TCP_MAC);
	return -EAFNOSUPPORT;
#endif
}

int ivc_tcp_proof_ok(const struct tcp_opts *o, char role, const uint8_t *cn,
		     const uint8_t *sn, const uint8_t *mac)
{
	uint8_t want[IVC_TCP_MAC], diff = 0;
	unsigned i;

	if (ivc_tcp_proof(o, role, cn, sn, want))
		return 0;
	for (i = 0; i < IVC_TCP_MAC; i++) /* every byte: no early exit */
		diff |= (uint8_t)(want[i] ^ mac[i]);
	return diff == 0;
}

int ivc_tcp_auth_server(int sock, const struct tcp_opts *o, const struct tcp_peer_hs *p,
			uint64_t deadline)
{
	uint8_t sn[IVC_TCP_NONCE], mac[IVC_TCP_MAC], unused[IVC_TCP_NONCE];
	int r;

	if (!o->psk && !(p->flags & TCP_HS_PSK))
		return 0;
	/* One side without the key: refused, whichever it is. */
	if (!o->psk || !(p->flags & TCP_HS_PSK))
		return -EACCES;
	r = ivc_tcp_nonce(sn);
	if (!r)
		r = ivc_tcp_proof(o, 'S', p->nonce, sn, mac);
	if (!r)
		r = ivc_tcp_auth_send(sock, sn, mac, deadline);
	if (!r)
		r = ivc_tcp_auth_recv(sock, unused, mac, deadline);
	if (!r && !ivc_tcp_proof_ok(o, 'C', p->nonce, sn, mac))
		r = -EACCES;
	return r;
}

int ivc_tcp_auth_client(int sock, const struct tcp_opts *o, const uint8_t *cn,
			uint64_t deadline)
{
	uint8_t sn[IVC_TCP_NONCE], mac[IVC_TCP_MAC];
	int r = ivc_tcp_auth_recv(sock, sn, mac, deadline);

	if (r)
		return r;
	if (!ivc_tcp_proof_ok(o, 'S', cn, sn, mac))
		return -EACCES; /* not the listener we share the key with */
	r = ivc_tcp_proof(o, 'C', cn, sn, mac);
	return r ? r : ivc_tcp_auth_send(sock, NULL, mac, deadline);
}
