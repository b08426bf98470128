/* USB descriptors of the reference board: one CDC-ACM interface (a serial port on every host OS).
 *
 * VID/PID: the Raspberry Pi vendor id with the PID the pico-sdk uses for its own CDC serial port,
 * as placeholders. A product must use its own (pass -DFB_USB_VID=... -DFB_USB_PID=...). */
#include <string.h>

#include "pico/unique_id.h"
#include "tusb.h"

#ifndef FB_USB_VID
#define FB_USB_VID 0x2E8A
#endif
#ifndef FB_USB_PID
#define FB_USB_PID 0x000A
#endif

enum { ITF_CDC_CTRL, ITF_CDC_DATA, ITF_COUNT };
enum { STR_LANGID, STR_MANUFACTURER, STR_PRODUCT, STR_SERIAL, STR_CDC };

#define EP_CDC_NOTIF 0x81
#define EP_CDC_OUT 0x02
#define EP_CDC_IN 0x82
#define CONFIG_TOTAL_LEN (TUD_CONFIG_DESC_LEN + TUD_CDC_DESC_LEN)

static const tusb_desc_device_t device_desc = {
    .bLength = sizeof(tusb_desc_device_t),
    .bDescriptorType = TUSB_DESC_DEVICE,
    .bcdUSB = 0x0200,
    /* CDC with an interface association: lets composite-aware hosts bind the ACM driver */
    .bDeviceClass = TUSB_CLASS_MISC,
    .bDeviceSubClass = MISC_SUBCLASS_COMMON,
    .bDeviceProtocol = MISC_PROTOCOL_IAD,
    .bMaxPacketSize0 = CFG_TUD_ENDPOINT0_SIZE,
    .idVendor = FB_USB_VID,
    .idProduct = FB_USB_PID,
    .bcdDevice = 0x0100,
    .iManufacturer = STR_MANUFACTURER,
    .iProduct = STR_PRODUCT,
    .iSerialNumber = STR_SERIAL,
    .bNumConfigurations = 1,
};

static const uint8_t config_desc[] = {
    TUD_CONFIG_DESCRIPTOR(1, ITF_COUNT, 0, CONFIG_TOTAL_LEN, 0, 100),
    TUD_CDC_DESCRIPTOR(ITF_CDC_CTRL, STR_CDC, EP_CDC_NOTIF, 8, EP_CDC_OUT, EP_CDC_IN,
                       CFG_TUD_CDC_EP_BUFSIZE),
};

const uint8_t *tud_descriptor_device_cb(void) { return (const uint8_t *)&device_desc; }

const uint8_t *tud_descriptor_configuration_cb(uint8_t index)
{
    (void)index;
    return config_desc;
}

/* String descriptors are UTF-16LE; ours are ASCII, so each character widens to one unit. */
const uint16_t *tud_descriptor_string_cb(uint8_t index, uint16_t langid)
{
    static uint16_t buf[1 + 32];
    static char serial[2 * PICO_UNIQUE_BOARD_ID_SIZE_BYTES + 1];
    const char *s;
    size_t n, i;
    (void)langid;
    switch (index) {
    case STR_LANGID:
        buf[1] = 0x0409; /* English (United States) */
        n = 1;
        buf[0] = (uint16_t)((TUSB_DESC_STRING << 8) | (2 * n + 2));
        return buf;
    case STR_MANUFACTURER: s = "EdgeBind"; break;
    case STR_PRODUCT: s = "EdgeBind sensor bridge"; break;
    case STR_SERIAL:
        pico_get_unique_board_id_string(serial, sizeof serial);
        s = serial;
        break;
    case STR_CDC: s = "EdgeBind firmware link"; break;
    default: return NULL;
    }
    n = strlen(s);
    if (n > 32) n = 32;
    for (i = 0; i < n; i++) buf[1 + i] = (uint8_t)s[i];
    buf[0] = (uint16_t)((TUSB_DESC_STRING << 8) | (2 * n + 2));
    return buf;
}
