/* RP2040 reference firmware: the portable core driven by the board HAL.
 *
 * One loop owns everything: tud_task() (TinyUSB's device work), board_poll() (the non-blocking
 * MLX90640 transfers) and fb_device_poll() (the core, which calls tud_cdc_* through the HAL).
 * Nothing else runs TinyUSB: the SDK's USB stdio is not linked, so there is no background task to
 * re-enter it. Interrupts: USB (TinyUSB queues events) and the IMU data-ready line. */
#include "board_hal.h"
#include "fb/fb_device.h"
#include "pico/binary_info.h"
#include "pico/time.h"
#include "tusb.h"

#define NOTE_FIRST_US 500000u  /* after the host opened the port (it may flush its input first) */
#define NOTE_EVERY_US 30000000u

bi_decl(bi_program_description("EdgeBind firmware link: ICM-42688-P IMU + MLX90640 thermal over USB CDC"));

static fb_device_t dev;
static uint16_t thermal_buf[32 * 24];

/* Repeats the board's warning (e.g. "no thermal calibration") while a host is connected. */
static void send_note(uint64_t *next_us, int connected)
{
    const char *note = board_note();
    uint64_t now = time_us_64();
    if (!note || !connected) {
        *next_us = 0;
        return;
    }
    if (*next_us == 0) {
        *next_us = now + NOTE_FIRST_US;
    } else if (now >= *next_us) {
        fb_device_log(&dev, 2 /* warning */, BOARD_LOG_NO_THERMAL_CALIBRATION, note);
        *next_us = now + NOTE_EVERY_US;
    }
}

int main(void)
{
    /* static, not on the stack: the core keeps a pointer to the HAL, and main's frame is under
     * every other one */
    static const tusb_rhport_init_t usb = {.role = TUSB_ROLE_DEVICE, .speed = TUSB_SPEED_AUTO};
    static fb_hal_t hal;
    static fb_device_info_t info;
    static fb_device_config_t cfg;
    uint64_t next_note_us = 0;
    board_init(&hal, &info);
    tusb_init(0, &usb);
    fb_device_default_config(&cfg, info.sensors);
    fb_device_init(&dev, &hal, &info, &cfg, thermal_buf);
    for (;;) {
        tud_task();
        board_poll();
        send_note(&next_note_us, tud_cdc_connected());
        fb_device_poll(&dev);
    }
}
