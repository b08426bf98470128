/* TinyUSB configuration of the reference board: one CDC-ACM interface, device only.
 *
 * The board owns USB (no SDK stdio over USB): tud_task() runs only in the main loop, the same
 * context as every tud_cdc_* call in board_hal.c, so TinyUSB is never re-entered and needs no lock.
 * Only plain #defines here: the host tests include this file to run the device core with the
 * board's buffer sizes (firmware/tests/board_link.c). */
#ifndef TUSB_CONFIG_H
#define TUSB_CONFIG_H

#define CFG_TUSB_RHPORT0_MODE OPT_MODE_DEVICE
#define CFG_TUD_ENABLED 1
#define CFG_TUD_ENDPOINT0_SIZE 64

#define CFG_TUD_CDC 1
#define CFG_TUD_MSC 0
#define CFG_TUD_HID 0
#define CFG_TUD_MIDI 0
#define CFG_TUD_VENDOR 0

/* Full-speed bulk packets. */
#define CFG_TUD_CDC_EP_BUFSIZE 64
/* Host commands are small (CONFIG_SET is 42 bytes on the wire); a full FIFO NAKs the host, it
 * never loses bytes. */
#define CFG_TUD_CDC_RX_BUFSIZE 256
/* The firmware core queues whole frames only (never a part), so this must hold a largest frame
 * (1,046 bytes) plus the room a thermal fragment leaves for an IMU batch and replies:
 * FB_TX_MIN_BUFFER, 2,352 bytes, checked at compile time in board_hal.c. The SDK's default
 * (64 bytes on 2.x) would drop every thermal fragment, DEVICE_INFO and most IMU batches. */
#define CFG_TUD_CDC_TX_BUFSIZE 4096

#endif
