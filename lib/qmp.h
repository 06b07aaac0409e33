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

#endif
