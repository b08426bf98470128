/* Board HAL: Raspberry Pi RP2040 + ICM-42688-P (SPI0) + MLX90640 (I2C0), USB CDC link.
 *
 * This file needs the pico-sdk and is NOT compiled by the host Makefile; see README.md
 * ("RP2040 reference firmware"). The sensor logic it calls (icm42688.c, mlx90640_ctl.c) is
 * compiled and unit-tested on the host.
 *
 * Pins (Pico): SPI0 SCK GP18, MOSI GP19, MISO GP16, CS GP17, ICM INT1 GP20; I2C0 SDA GP4, SCL GP5.
 */
#include "board_hal.h"

#include <string.h>

#include "hardware/gpio.h"
#include "hardware/i2c.h"
#include "hardware/spi.h"
#include "hardware/sync.h"
#include "pico/stdlib.h"
#include "pico/unique_id.h"
#include "tusb.h"

#include "icm42688.h"
#include "mlx90640_ctl.h"

#define PIN_SPI_SCK 18
#define PIN_SPI_MOSI 19
#define PIN_SPI_MISO 16
#define PIN_IMU_CS 17
#define PIN_IMU_INT1 20
#define PIN_I2C_SDA 4
#define PIN_I2C_SCL 5
#define IMU_RING 512u /* power of two */

/* ---- IMU: data-ready interrupt timestamps and reads each sample into a ring -------------------- */
static fb_imu_reading_t imu_ring[IMU_RING];
static volatile uint32_t imu_head, imu_tail, imu_lost, imu_overflows;

static int spi_write_reg(void *ctx, uint8_t reg, uint8_t value)
{
    uint8_t buf[2] = {reg & 0x7Fu, value};
    (void)ctx;
    gpio_put(PIN_IMU_CS, 0);
    spi_write_blocking(spi0, buf, 2);
    gpio_put(PIN_IMU_CS, 1);
    return 0;
}

static int spi_read_regs(void *ctx, uint8_t reg, uint8_t *buf, size_t n)
{
    uint8_t addr = reg | ICM42688_SPI_READ;
    (void)ctx;
    gpio_put(PIN_IMU_CS, 0);
    spi_write_blocking(spi0, &addr, 1);
    spi_read_blocking(spi0, 0, buf, n);
    gpio_put(PIN_IMU_CS, 1);
    return 0;
}

static void bus_delay_us(void *ctx, uint32_t us)
{
    (void)ctx;
    sleep_us(us);
}

static const icm42688_bus_t imu_bus = {NULL, spi_write_reg, spi_read_regs, bus_delay_us};

static void imu_drdy_isr(uint gpio, uint32_t events)
{
    uint64_t t = time_us_64(); /* stamp first: this is the sample time */
    (void)gpio;
    (void)events;
    if (imu_head - imu_tail >= IMU_RING) { /* ring full: drop the oldest */
        imu_tail++;
        imu_lost++;
        imu_overflows++;
    }
    fb_imu_reading_t *r = &imu_ring[imu_head & (IMU_RING - 1)];
    r->t_us = t;
    icm42688_read_sample(&imu_bus, r->v); /* 12 bytes at 12 MHz: ~10 us */
    imu_head++;
}

static int hal_imu_configure(void *ctx, fb_imu_config_t *cfg)
{
    (void)ctx;
    return icm42688_configure(&imu_bus, cfg);
}

static size_t hal_imu_read(void *ctx, fb_imu_reading_t *out, size_t max, uint32_t *dropped, uint32_t *overruns)
{
    size_t n = 0;
    uint32_t irq = save_and_disable_interrupts();
    (void)ctx;
    *dropped += imu_lost;
    *overruns += imu_overflows;
    imu_lost = imu_overflows = 0;
    while (n < max && imu_tail != imu_head) {
        out[n++] = imu_ring[imu_tail & (IMU_RING - 1)];
        imu_tail++;
    }
    restore_interrupts(irq);
    return n;
}

/* ---- MLX90640 over I2C: two subpages make a frame ------------------------------------------------ */
static uint16_t mlx_frame_words[834];
static float mlx_celsius[768];
static int mlx_subpages_seen;
static float mlx_rate_hz = 4.0f;

static int mlx_read_words(uint16_t addr, uint16_t *out, size_t n)
{
    uint8_t a[2] = {(uint8_t)(addr >> 8), (uint8_t)addr};
    static uint8_t raw[1664];
    size_t i;
    if (i2c_write_blocking(i2c0, MLX90640_I2C_ADDR, a, 2, true) != 2) return -1;
    if (i2c_read_blocking(i2c0, MLX90640_I2C_ADDR, raw, 2 * n, false) != (int)(2 * n)) return -1;
    for (i = 0; i < n; i++) out[i] = (uint16_t)((raw[2 * i] << 8) | raw[2 * i + 1]);
    return 0;
}

static int mlx_write_word(uint16_t addr, uint16_t v)
{
    uint8_t b[4] = {(uint8_t)(addr >> 8), (uint8_t)addr, (uint8_t)(v >> 8), (uint8_t)v};
    return i2c_write_blocking(i2c0, MLX90640_I2C_ADDR, b, 4, false) == 4 ? 0 : -1;
}

static int hal_thermal_configure(void *ctx, float *rate_hz)
{
    uint16_t ctrl, code;
    float actual;
    (void)ctx;
    code = mlx90640_refresh_code(*rate_hz, &actual);
    if (mlx_read_words(MLX90640_REG_CTRL1, &ctrl, 1) < 0) return -1;
    if (mlx_write_word(MLX90640_REG_CTRL1, mlx90640_ctrl_with_refresh(ctrl, code)) < 0) return -1;
    mlx_rate_hz = actual;
    int adjusted = actual != *rate_hz;
    *rate_hz = actual;
    return adjusted;
}

static int hal_thermal_read(void *ctx, uint16_t *pixels, uint64_t *capture_us)
{
    uint16_t status;
    size_t i;
    (void)ctx;
    if (mlx_read_words(MLX90640_REG_STATUS, &status, 1) < 0 || !mlx90640_status_new_data(status)) {
        return 0;
    }
    /* RAM: 768 pixel words + 64 auxiliary words; then clear the new-data flag */
    if (mlx_read_words(MLX90640_RAM_START, mlx_frame_words, 832) < 0) return 0;
    if (mlx_read_words(MLX90640_REG_CTRL1, &mlx_frame_words[832], 1) < 0) return 0;
    mlx_frame_words[833] = (uint16_t)mlx90640_status_subpage(status);
    mlx_write_word(MLX90640_REG_STATUS, (uint16_t)(status & ~0x0008u));
    /* Temperature calculation from the EEPROM calibration (Melexis application note / driver):
     * supplied by the integrator, see README. It updates the pixels of the measured subpage. */
    board_mlx90640_calculate(mlx_frame_words, mlx_celsius);
    if (++mlx_subpages_seen < 2) {
        return 0; /* a frame is complete once both subpages have been measured */
    }
    mlx_subpages_seen = 0;
    for (i = 0; i < 768; i++) pixels[i] = mlx90640_celsius_to_raw(mlx_celsius[i]);
    *capture_us = time_us_64();
    return 1;
}

/* ---- USB CDC link ----------------------------------------------------------------------------------- */
static uint64_t hal_now_us(void *ctx) { (void)ctx; return time_us_64(); }

static size_t hal_serial_read(void *ctx, uint8_t *buf, size_t max)
{
    (void)ctx;
    return tud_cdc_available() ? tud_cdc_read(buf, (uint32_t)max) : 0;
}

static size_t hal_serial_tx_free(void *ctx)
{
    (void)ctx;
    return tud_cdc_connected() ? tud_cdc_write_available() : 0; /* no host: drop, never block */
}

static size_t hal_serial_write(void *ctx, const uint8_t *buf, size_t len)
{
    size_t n;
    (void)ctx;
    n = tud_cdc_write(buf, (uint32_t)len);
    tud_cdc_write_flush();
    return n;
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
    i2c_init(i2c0, 1000 * 1000); /* MLX90640 supports FM+ */
    gpio_set_function(PIN_I2C_SDA, GPIO_FUNC_I2C);
    gpio_set_function(PIN_I2C_SCL, GPIO_FUNC_I2C);
    gpio_pull_up(PIN_I2C_SDA);
    gpio_pull_up(PIN_I2C_SCL);

    memset(info, 0, sizeof *info);
    pico_get_unique_board_id(&id);
    for (i = 0; i < 8; i++) info->device_id = (info->device_id << 8) | id.id[i];
    info->fw_major = 1;
    strcpy(info->board, "rp2040-ref");
    strcpy(info->imu_model, "ICM-42688-P");
    strcpy(info->thermal_model, "MLX90640");
    info->thermal_width = MLX90640_WIDTH;
    info->thermal_height = MLX90640_HEIGHT;
    info->thermal_scale = 0.01f;
    info->thermal_offset = 0.0f;
    info->sensors = 0;

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
    }
    if (board_mlx90640_init() == 0) {
        info->sensors |= FB_STREAM_THERMAL;
        hal->thermal_configure = hal_thermal_configure;
        hal->thermal_read = hal_thermal_read;
    }
}
