/* Board HAL: Raspberry Pi RP2040 + ICM-42688-P (SPI0) + USB CDC link; the MLX90640 is in
 * board_thermal.c. Needs the pico-sdk (`make -C firmware_bridge/firmware board`); the sensor
 * logic it calls (icm42688.c) is unit-tested on the host.
 *
 * Pins (Pico): SPI0 SCK GP18, MOSI GP19, MISO GP16, CS GP17, ICM INT1 GP20.
 */
#include "board_hal.h"

#include <string.h>

#include "hardware/gpio.h"
#include "hardware/irq.h"
#include "hardware/spi.h"
#include "pico/binary_info.h"
#include "pico/bootrom.h"
#include "pico/time.h"
#include "pico/unique_id.h"
#include "tusb.h"

#include "icm42688.h"

#define PIN_SPI_SCK 18
#define PIN_SPI_MOSI 19
#define PIN_SPI_MISO 16
#define PIN_IMU_CS 17
#define PIN_IMU_INT1 20
#define IMU_RING 512u /* power of two */

bi_decl(bi_3pins_with_func(PIN_SPI_MISO, PIN_SPI_MOSI, PIN_SPI_SCK, GPIO_FUNC_SPI));
bi_decl(bi_1pin_with_name(PIN_IMU_CS, "ICM-42688 CS"));
bi_decl(bi_1pin_with_name(PIN_IMU_INT1, "ICM-42688 INT1"));

/* The core queues whole frames only: a smaller FIFO would starve thermal and drop replies. */
_Static_assert(CFG_TUD_CDC_TX_BUFSIZE >= FB_TX_MIN_BUFFER, "CDC TX FIFO below FB_TX_MIN_BUFFER");

/* ---- IMU: the data-ready interrupt timestamps and reads each sample into a ring ---------------- */
static fb_imu_reading_t imu_ring[IMU_RING];
static volatile uint32_t imu_head, imu_tail, imu_lost, imu_overflows;
static volatile uint64_t imu_settle_until_us; /* samples before this are from the old setting */
static int imu_irq_installed;

static void spi_transfer(uint8_t addr, const uint8_t *out, uint8_t *in, size_t n)
{
    gpio_put(PIN_IMU_CS, 0);
    spi_write_blocking(spi0, &addr, 1);
    if (out) spi_write_blocking(spi0, out, n);
    if (in) spi_read_blocking(spi0, 0, in, n);
    gpio_put(PIN_IMU_CS, 1);
}

static int spi_write_reg(void *ctx, uint8_t reg, uint8_t value)
{
    (void)ctx;
    spi_transfer(reg & 0x7Fu, &value, NULL, 1);
    return 0;
}

static int spi_read_regs(void *ctx, uint8_t reg, uint8_t *buf, size_t n)
{
    (void)ctx;
    spi_transfer(reg | ICM42688_SPI_READ, NULL, buf, n);
    return 0;
}

static void bus_delay_us(void *ctx, uint32_t us)
{
    (void)ctx;
    sleep_us(us); /* only at boot (soft reset) */
}

/* Masking the GPIO bank interrupt in the NVIC keeps a data-ready edge pending (it is serviced
 * on unlock); gpio_set_irq_enabled() would acknowledge, and so lose, it. */
static void imu_lock(void *ctx)
{
    (void)ctx;
    irq_set_enabled(IO_IRQ_BANK0, false);
}

static void imu_unlock(void *ctx)
{
    (void)ctx;
    if (imu_irq_installed) irq_set_enabled(IO_IRQ_BANK0, true);
}

static const icm42688_bus_t imu_bus = {NULL, spi_write_reg, spi_read_regs, bus_delay_us, imu_lock, imu_unlock};

static void imu_drdy_isr(uint gpio, uint32_t events)
{
    uint64_t t = time_us_64(); /* stamp first: this is the sample time */
    fb_imu_reading_t *r;
    (void)gpio;
    (void)events;
    if (t < imu_settle_until_us) {
        imu_lost++;
        return;
    }
    if (imu_head - imu_tail >= IMU_RING) { /* ring full: drop the oldest */
        imu_tail++;
        imu_lost++;
        imu_overflows++;
    }
    r = &imu_ring[imu_head & (IMU_RING - 1)];
    r->t_us = t;
    icm42688_read_sample(&imu_bus, r->v); /* 13 bytes at 12 MHz: ~10 us */
    imu_head++;
}

static int hal_imu_configure(void *ctx, fb_imu_config_t *cfg)
{
    int rc;
    (void)ctx;
    /* The core drained the ring just before; anything left was measured with the old setting. */
    imu_lock(NULL);
    imu_lost += imu_head - imu_tail;
    imu_tail = imu_head;
    imu_unlock(NULL);
    rc = icm42688_configure(&imu_bus, cfg);
    /* The chip applies a new range or rate at its next sample: skip two output periods. (Set
     * with the interrupt masked: a 64-bit store is two on the M0+, the handler must not see half.) */
    imu_lock(NULL);
    imu_settle_until_us = time_us_64() + (uint64_t)(2e6f / cfg->imu_rate_hz);
    imu_unlock(NULL);
    return rc;
}

static size_t hal_imu_read(void *ctx, fb_imu_reading_t *out, size_t max, uint32_t *dropped, uint32_t *overruns)
{
    size_t n = 0;
    (void)ctx;
    imu_lock(NULL);
    *dropped += imu_lost;
    *overruns += imu_overflows;
    imu_lost = imu_overflows = 0;
    while (n < max && imu_tail != imu_head) {
        out[n++] = imu_ring[imu_tail & (IMU_RING - 1)];
        imu_tail++;
    }
    imu_unlock(NULL);
    return n;
}

/* ---- USB CDC link: TinyUSB runs only in the main loop (main.c), like these calls ------------- */
static uint64_t hal_now_us(void *ctx)
{
    (void)ctx;
    return time_us_64();
}

static size_t hal_serial_read(void *ctx, uint8_t *buf, size_t max)
{
    (void)ctx;
    return tud_cdc_available() ? tud_cdc_read(buf, (uint32_t)max) : 0;
}

static size_t hal_serial_tx_free(void *ctx)
{
    (void)ctx;
    /* No host (DTR low): TinyUSB would overwrite its FIFO; report no space so frames are dropped. */
    return tud_cdc_connected() ? tud_cdc_write_available() : 0;
}

static size_t hal_serial_write(void *ctx, const uint8_t *buf, size_t len)
{
    size_t n;
    (void)ctx;
    n = tud_cdc_write(buf, (uint32_t)len);
    tud_cdc_write_flush();
    return n;
}

/* 1200 baud is the Arduino-style request to reboot into the USB bootloader for flashing. */
void tud_cdc_line_coding_cb(uint8_t itf, cdc_line_coding_t const *coding)
{
    (void)itf;
    if (coding->bit_rate == 1200) reset_usb_boot(0, 0);
}

void board_init(fb_hal_t *hal, fb_device_info_t *info)
{
    pico_unique_board_id_t id;
    size_t i;

    spi_init(spi0, 12 * 1000 * 1000);
    spi_set_format(spi0, 8, SPI_CPOL_1, SPI_CPHA_1, SPI_MSB_FIRST); /* ICM-42688: mode 3 */
    gpio_set_function(PIN_SPI_SCK, GPIO_FUNC_SPI);
    gpio_set_function(PIN_SPI_MOSI, GPIO_FUNC_SPI);
    gpio_set_function(PIN_SPI_MISO, GPIO_FUNC_SPI);
    gpio_init(PIN_IMU_CS);
    gpio_set_dir(PIN_IMU_CS, GPIO_OUT);
    gpio_put(PIN_IMU_CS, 1);

    memset(info, 0, sizeof *info);
    pico_get_unique_board_id(&id);
    for (i = 0; i < 8; i++) info->device_id = (info->device_id << 8) | id.id[i];
    info->fw_major = 1;
    strcpy(info->board, BOARD_NAME);
    strcpy(info->imu_model, "ICM-42688-P");

    memset(hal, 0, sizeof *hal);
    hal->now_us = hal_now_us;
    hal->serial_read = hal_serial_read;
    hal->serial_tx_free = hal_serial_tx_free;
    hal->serial_write = hal_serial_write;
    if (icm42688_init(&imu_bus) == 0) {
        info->sensors |= FB_STREAM_IMU;
        hal->imu_configure = hal_imu_configure;
        hal->imu_read = hal_imu_read;
        gpio_set_irq_enabled_with_callback(PIN_IMU_INT1, GPIO_IRQ_EDGE_RISE, true, imu_drdy_isr);
        imu_irq_installed = 1;
    }
    board_thermal_init(hal, info);
}

void board_poll(void) { board_thermal_poll(); }

const char *board_note(void) { return board_thermal_note(); }
