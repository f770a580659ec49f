/* SPDX-License-Identifier: MIT */
/*
 * The shm transport (shm_pvt.h says how its files divide the work): the
 * options an shm endpoint takes and whom it trusts.  (Its entry in the
 * transport table is shm_transport.c, above listen and connect.)
 */
#include "shm/shm_pvt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/options_pvt.h"
#include "endpoint/transport_pvt.h"

int ivc_shm_opts(const struct ivc_options *o, struct shm_opts *out)
{
	const struct ivc_shm_options *so = NULL;
	struct ivc_geometry geo;
	uint32_t desc_size;
	int r = ivc_opts_lane(o, IVC_OPT_ANY_UID | IVC_OPT_INLINE, &geo, &desc_size);

	memset(out, 0, sizeof(*out));
	/* Xen settings (a domid list) mean nothing to a Unix socket. */
	if (!r)
		r = ivc_opts_shm(o, &so);
	if (!r)
		r = ivc_lane_geom_compute_ex(&geo, 0, desc_size, &out->txg);
	if (r)
		return r;
	out->peer_lane_max = IVC_DEFAULT_PEER_LANE_MAX;
	if (!o)
		return 0;
	out->mode = o->mode;
	out->spin_max_ns = o->spin_max_ns;
	out->flags = o->flags;
	if (!so)
		return 0;
	if (so->peer_lane_max)
		out->peer_lane_max = so->peer_lane_max;
	if (so->n_allowed_uids) {
		out->uids = malloc(sizeof(uid_t) * so->n_allowed_uids);
		if (!out->uids)
			return -ENOMEM;
		memcpy(out->uids, so->allowed_uids, sizeof(uid_t) * so->n_allowed_uids);
		out->n_uids = so->n_allowed_uids;
	}
	return 0;
}

void ivc_shm_opts_free(struct shm_opts *o)
{
	free(o->uids);
	o->uids = NULL;
	o->n_uids = 0;
}

int ivc_shm_uid_allowed(const struct shm_opts *o, uid_t uid, int listener)
{
	size_t i;

	if (o->flags & IVC_OPT_ANY_UID)
		return 1;
	for (i = 0; i < o->n_uids; i++)
		if (o->uids[i] == uid)
			return 1;
	if (o->n_uids)
		return 0;
	/* A listener serves its own user; a connector trusts a listener of
	 * its own user, or root (who could read its memory anyway). */
	return uid == geteuid() || (!listener && uid == 0);
}

int ivc_shm_peer_uid(int sock, uid_t *uid, pid_t *pid)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	*uid = uc.uid;
	*pid = uc.pid;
	return 0;
}
