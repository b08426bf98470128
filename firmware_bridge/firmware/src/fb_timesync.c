#include "fb/fb_timesync.h"

void fb_timesync_respond(const fb_time_sync_request_t *req, uint64_t t2_us, uint64_t t3_us,
                         fb_time_sync_response_t *resp)
{
    resp->request_id = req->request_id;
    resp->t1 = req->t1;
    resp->t2_us = t2_us;
    resp->t3_us = t3_us;
}
