#include "mlx90640_ctl.h"

uint16_t mlx90640_refresh_code(float frame_rate_hz, float *actual_frame_hz)
{
    float sub = 2.0f * frame_rate_hz, rate = 0.5f;
    uint16_t code = 0;
    /* nearest on a log scale: move up while the next step is closer */
    while (code < 7 && sub >= rate * 1.41421356f) {
        rate *= 2.0f;
        code++;
    }
    if (actual_frame_hz) *actual_frame_hz = rate / 2.0f;
    return code;
}

uint16_t mlx90640_ctrl_with_refresh(uint16_t ctrl1, uint16_t code)
{
    return (uint16_t)((ctrl1 & ~(uint16_t)(7u << 7)) | ((code & 7u) << 7));
}

int mlx90640_status_new_data(uint16_t status) { return (status >> 3) & 1u; }
int mlx90640_status_subpage(uint16_t status) { return status & 7u; }

uint16_t mlx90640_celsius_to_raw(float celsius)
{
    float ck = (celsius + 273.15f) * 100.0f + 0.5f;
    if (ck <= 0.0f) return 0;
    if (ck >= 65535.0f) return 65535;
    return (uint16_t)ck;
}
