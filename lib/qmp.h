/*
 * qmp.h — a small synchronous QMP client (QEMU Machine Protocol over a UNIX socket): greeting
 * and qmp_capabilities handshake, one command at a time, asynchronous events skipped.
 */
#ifndef HB_QMP_H
#define HB_QMP_H

#include <jansson.h>
#include "hb.h"

struct hb_qmp; /* opaque; freed by hb_qmp_close */

/* Connects (retrying until timeout while QEMU creates the socket) and negotiates capabilities. */
int hb_qmp_connect(const char *path, double timeout, struct hb_qmp **out, struct hb_err *e);
/*
 * Runs one command. args: NULL or an object (stolen). On success *ret (may be NULL if not
 * wanted) is a new reference to the "return" member. A QMP "error" reply gives HB_EPROTO with
 * its class and desc in e.
 */
int hb_qmp_cmd(struct hb_qmp *q, const char *cmd, json_t *args, double timeout, json_t **ret,
	       struct hb_err *e);
void hb_qmp_close(struct hb_qmp *q);

/*
 * A caller's transport for QMP commands (e.g. libvirt's virDomainQemuMonitorCommand, when
 * libvirt owns QEMU's monitor): cmd is one command as JSON text ({"execute", "arguments"?});
 * *reply gets the whole reply message as malloc'd JSON text (freed by the caller). 0 or a
 * negative HB_E* code with the message in e.
 */
typedef int (*hb_qmp_send_fn)(void *arg, const char *cmd, double timeout, char **reply,
			      struct hb_err *e);
/* A handle whose commands go through send (arg is passed back); hb_qmp_cmd works as usual. */
int hb_qmp_open_custom(hb_qmp_send_fn send, void *arg, struct hb_qmp **out, struct hb_err *e);

#endif
