/* Time-sync responder (PROTOCOL.md §3, 0x20/0x21): stateless; the host does all filtering. */
#ifndef FB_TIMESYNC_H
#define FB_TIMESYNC_H
#include "fb_protocol.h"

/* t2_us: device time when the request's last byte arrived; t3_us: device time now. */
void fb_timesync_respond(const fb_time_sync_request_t *req, uint64_t t2_us, uint64_t t3_us,
                         fb_time_sync_response_t *resp);
#endif
