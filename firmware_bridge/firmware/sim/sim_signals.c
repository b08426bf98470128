#include "sim_signals.h"

#include <math.h>

void sim_imu_signal(double t_s, double out[6])
{
    const double two_pi = 6.283185307179586;
    out[0] = 0.5 * sin(two_pi * 0.5 * t_s);
    out[1] = 0.3 * sin(two_pi * 0.3 * t_s + 1.0);
    out[2] = 9.80665 + 0.2 * sin(two_pi * 1.0 * t_s);
    out[3] = 0.2 * sin(two_pi * 0.5 * t_s);
    out[4] = 0.1 * cos(two_pi * 0.25 * t_s);
    out[5] = 0.05 * sin(two_pi * 2.0 * t_s);
}

uint16_t sim_thermal_pixel(uint32_t frame_id, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    uint32_t v = 29500u + (y * 1000u) / h;
    int32_t cx = (int32_t)((frame_id * 3u) % w), cy = (int32_t)(h / 2u);
    int32_t r = (int32_t)(h / 5u) > 2 ? (int32_t)(h / 5u) : 2;
    int32_t dx = (int32_t)x - cx, dy = (int32_t)y - cy;
    if (dx * dx + dy * dy <= r * r) {
        v += 1500u;
    }
    return (uint16_t)v;
}
