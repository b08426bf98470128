/* RP2040 reference firmware: the portable core driven by the board HAL. Needs the pico-sdk. */
#include "board_hal.h"
#include "fb/fb_device.h"
#include "pico/stdlib.h"
#include "tusb.h"

static fb_device_t dev;
static uint16_t thermal_buf[32 * 24];

int main(void)
{
    fb_hal_t hal;
    fb_device_info_t info;
    fb_device_config_t cfg;
    stdio_init_all(); /* brings up TinyUSB with the SDK's CDC descriptors */
    board_init(&hal, &info);
    fb_device_default_config(&cfg, info.sensors);
    fb_device_init(&dev, &hal, &info, &cfg, thermal_buf);
    for (;;) {
        tud_task();
        fb_device_poll(&dev);
    }
}
