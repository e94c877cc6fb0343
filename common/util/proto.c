/* SPDX-License-Identifier: MIT */
/* Text forms of the protocol's XenStore values (see proto.h). */
#include "vbdpool/proto.h"
#include "vbdpool/parse_num.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const member_names[VBD_MEMBER__COUNT] = {
    "joining", "active", "leaving", "failed", "dead", "fenced", "mismatch",
};
static const char *const queue_names[VBD_Q__COUNT] = {
    "unowned",
    "claimed",
    "connected",
    "draining",
};

const char *vbd_member_state_name(enum vbd_member_state s)
{
	return (unsigned)s < VBD_MEMBER__COUNT ? member_names[s] : "?";
}

int vbd_member_state_parse(const char *s, enum vbd_member_state *out)
{
	for (int i = 0; i < VBD_MEMBER__COUNT; i++)
		if (!strcmp(s, member_names[i])) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

const char *vbd_queue_state_name(enum vbd_queue_state s)
{
	return (unsigned)s < VBD_Q__COUNT ? queue_names[s] : "?";
}

static int parse_domid(const char *s, uint32_t *out)
{
	uint64_t v;

	if (!strcmp(s, "none")) {
		*out = VBD_DOMID_NONE;
		return 0;
	}
	if (vbd_parse_u64(s, VBD_DOMID_NONE - 1, &v))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int vbd_att_mode_parse(const char *s, int *read_only)
{
	if (!s || (strcmp(s, VBD_MODE_RO) && strcmp(s, VBD_MODE_RW)))
		return -EINVAL;
	*read_only = !strcmp(s, VBD_MODE_RO);
	return 0;
}

int vbd_att_shared_parse(const char *s, int *shared)
{
	if (!s || (strcmp(s, "0") && strcmp(s, "1")))
		return -EINVAL;
	*shared = s[0] == '1';
	return 0;
}

int vbd_queue_rec_format(const struct vbd_queue_rec *r, char *buf, size_t len)
{
	char owner[16];

	if (r->owner == VBD_DOMID_NONE)
		snprintf(owner, sizeof(owner), "none");
	else
		snprintf(owner, sizeof(owner), "%u", r->owner);
	if (r->state == VBD_Q_DRAINING)
		return snprintf(buf, len, "owner=%s epoch=%" PRIu64 " state=%s target=%u", owner,
				r->epoch, vbd_queue_state_name(r->state), r->target);
	return snprintf(buf, len, "owner=%s epoch=%" PRIu64 " state=%s", owner, r->epoch,
			vbd_queue_state_name(r->state));
}

int vbd_queue_rec_parse(const char *s, struct vbd_queue_rec *out)
{
	char buf[160], *save = NULL, *tok;
	int have_owner = 0, have_epoch = 0, have_state = 0, have_target = 0;
	struct vbd_queue_rec r = {.owner = VBD_DOMID_NONE, .target = VBD_DOMID_NONE};

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return -EINVAL;
		*eq++ = '\0';
		if (!strcmp(tok, "owner") && !have_owner++) {
			if (parse_domid(eq, &r.owner))
				return -EINVAL;
		} else if (!strcmp(tok, "epoch") && !have_epoch++) {
			if (vbd_parse_u64(eq, UINT64_MAX, &r.epoch))
				return -EINVAL;
		} else if (!strcmp(tok, "state") && !have_state++) {
			int found = 0;
			for (int i = 0; i < VBD_Q__COUNT; i++)
				if (!strcmp(eq, queue_names[i])) {
					r.state = i;
					found = 1;
				}
			if (!found)
				return -EINVAL;
		} else if (!strcmp(tok, "target") && !have_target++) {
			if (parse_domid(eq, &r.target) || r.target == VBD_DOMID_NONE)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
	}
	if (!have_owner || !have_epoch || !have_state)
		return -EINVAL;
	/* consistency: an owner exactly when not unowned; target only when draining */
	if ((r.state == VBD_Q_UNOWNED) != (r.owner == VBD_DOMID_NONE))
		return -EINVAL;
	if ((r.state == VBD_Q_DRAINING) != have_target)
		return -EINVAL;
	*out = r;
	return 0;
}

int vbd_member_load_format(const struct vbd_member_load *l, char *buf, size_t len)
{
	return snprintf(buf, len,
			"inflight=%" PRIu64 " iops=%" PRIu64 " bps=%" PRIu64 " lat-us=%" PRIu64
			" p99-us=%" PRIu64 " queues=%" PRIu64 " cost=%" PRIu64,
			l->inflight, l->iops, l->bytes_per_s, l->lat_us, l->p99_us, l->queues,
			l->cost);
}

int vbd_member_load_path(const char *path)
{
	size_t n = strlen(VBD_XS_VOLUMES);
	const char *p;

	if (strncmp(path, VBD_XS_VOLUMES "/", n + 1))
		return 0;
	path += n + 1; /* <vol>/members/<m>/load */
	if (!(p = strchr(path, '/')) || p == path || strncmp(p, "/members/", 9))
		return 0;
	path = p + 9;
	if (!(p = strchr(path, '/')) || p == path)
		return 0;
	return !strcmp(p, "/load");
}

int vbd_member_load_parse(const char *s, struct vbd_member_load *out)
{
	static const char *const keys[] = {"inflight", "iops",	 "bps", "lat-us",
					   "p99-us",   "queues", "cost"};
	uint64_t *fields[] = {&out->inflight, &out->iops,   &out->bytes_per_s, &out->lat_us,
			      &out->p99_us,   &out->queues, &out->cost};
	struct vbd_member_load tmp;
	char buf[256], *save = NULL, *tok;
	unsigned seen = 0;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	tmp = *out;
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		int k = -1;
		if (!eq)
			return -EINVAL;
		*eq++ = '\0';
		for (int i = 0; i < 7; i++)
			if (!strcmp(tok, keys[i]))
				k = i;
		if (k < 0 || (seen & (1u << k)) || vbd_parse_u64(eq, UINT64_MAX, fields[k]))
			goto bad;
		seen |= 1u << k;
	}
	if (seen != 0x7f)
		goto bad;
	return 0;
bad:
	*out = tmp;
	return -EINVAL;
}

int vbd_volume_id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > VBD_VOLUME_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}
