/* MLX90640 on I2C0 (1 MHz, SDA GP4, SCL GP5), read without blocking the main loop.
 *
 * A state machine advanced by board_thermal_poll(): poll the status register (at most every
 * 1 ms), read the 832 RAM words and control register 1 of a new subpage, clear the new-data flag,
 * hand the words to the integrator's temperature calculation, and publish a frame once both
 * subpages are in. Each step is an mlx_xfer_t (mlx90640_xfer.c): a bounded amount of FIFO work
 * per pass, never a ~15 ms blocking read. Only boot uses the SDK's blocking calls. */
#include <string.h>

#include "board_hal.h"
#include "hardware/gpio.h"
#include "hardware/i2c.h"
#include "pico/binary_info.h"
#include "pico/time.h"

#include "mlx90640_ctl.h"
#include "mlx90640_xfer.h"

#define MLX_I2C i2c0
#define PIN_I2C_SDA 4
#define PIN_I2C_SCL 5
#define MLX_I2C_HZ (1000u * 1000u) /* the MLX90640 supports Fast-mode Plus */
#define STATUS_POLL_US 1000u
#define XFER_TIMEOUT_US 100000u /* a subpage needs ~15 ms; longer means a stuck bus */
#define RETRY_US 10000u

bi_decl(bi_2pins_with_func(PIN_I2C_SDA, PIN_I2C_SCL, GPIO_FUNC_I2C));

_Static_assert(MLX_I2C_CMD_READ == I2C_IC_DATA_CMD_CMD_BITS, "command bits differ from IC_DATA_CMD");
_Static_assert(MLX_I2C_CMD_STOP == I2C_IC_DATA_CMD_STOP_BITS, "command bits differ from IC_DATA_CMD");
_Static_assert(MLX_I2C_CMD_RESTART == I2C_IC_DATA_CMD_RESTART_BITS, "command bits differ from IC_DATA_CMD");

/* ---- the controller's FIFOs, as mlx90640_xfer.c sees them ------------------------------------- */
static size_t i2c_room(void *ctx)
{
    (void)ctx;
    return i2c_get_write_available(MLX_I2C);
}

static void i2c_push(void *ctx, uint16_t cmd)
{
    (void)ctx;
    i2c_get_hw(MLX_I2C)->data_cmd = cmd;
}

static size_t i2c_rx(void *ctx)
{
    (void)ctx;
    return i2c_get_read_available(MLX_I2C);
}

static uint8_t i2c_pop(void *ctx)
{
    (void)ctx;
    return (uint8_t)i2c_get_hw(MLX_I2C)->data_cmd;
}

static int i2c_aborted(void *ctx)
{
    i2c_hw_t *hw = i2c_get_hw(MLX_I2C);
    (void)ctx;
    if (!(hw->raw_intr_stat & I2C_IC_RAW_INTR_STAT_TX_ABRT_BITS)) return 0;
    (void)hw->clr_tx_abrt; /* reading clears the abort and re-enables the FIFO */
    return 1;
}

static const mlx_i2c_ops_t i2c_ops = {NULL, i2c_room, i2c_push, i2c_rx, i2c_pop, i2c_aborted};

static void i2c_setup(void)
{
    i2c_init(MLX_I2C, MLX_I2C_HZ); /* also resets the block: recovers a stuck controller */
    i2c_get_hw(MLX_I2C)->enable = 0;
    i2c_get_hw(MLX_I2C)->tar = MLX90640_I2C_ADDR; /* our transfers never change the target */
    i2c_get_hw(MLX_I2C)->enable = 1;
}

/* ---- state machine ------------------------------------------------------------------------------ */
enum { TH_OFF, TH_IDLE, TH_CTRL_READ, TH_CTRL_WRITE, TH_STATUS, TH_RAM, TH_SUBPAGE_CTRL, TH_CLEAR };

static struct {
    int state;
    mlx_xfer_t x;
    uint64_t started_us, next_status_us, capture_us;
    uint16_t status, ctrl;
    int refresh_pending;
    uint16_t refresh_code;
    uint16_t words[834]; /* RAM, control register 1, subpage */
    float celsius[768];
    int subpages;
    int frame_ready;
    uint64_t frame_capture_us;
    uint16_t frame[MLX90640_WIDTH * MLX90640_HEIGHT];
    uint32_t bus_errors;
    const char *note;
} th;

static void begin_read(int state, uint16_t reg, uint16_t *dst, size_t words, uint64_t now)
{
    mlx_xfer_start_read(&th.x, &i2c_ops, reg, dst, words);
    th.state = state;
    th.started_us = now;
}

static void begin_write(int state, uint16_t reg, uint16_t value, uint64_t now)
{
    mlx_xfer_start_write(&th.x, &i2c_ops, reg, value);
    th.state = state;
    th.started_us = now;
}

static void subpage_done(uint64_t now)
{
    size_t i;
    board_mlx90640_calculate(th.words, th.celsius);
    if (++th.subpages >= 2) { /* a frame is complete once both subpages have been measured */
        th.subpages = 0;
        for (i = 0; i < 768; i++) th.frame[i] = mlx90640_celsius_to_raw(th.celsius[i]);
        th.frame_capture_us = th.capture_us;
        th.frame_ready = 1;
    }
    th.state = TH_IDLE;
    th.next_status_us = now + STATUS_POLL_US;
}

/* One step after the current transfer finished. */
static void step(uint64_t now)
{
    switch (th.state) {
    case TH_CTRL_READ:
        begin_write(TH_CTRL_WRITE, MLX90640_REG_CTRL1, mlx90640_ctrl_with_refresh(th.ctrl, th.refresh_code), now);
        break;
    case TH_CTRL_WRITE:
        th.state = TH_IDLE;
        break;
    case TH_STATUS:
        if (mlx90640_status_new_data(th.status)) {
            th.capture_us = now; /* the subpage was measured just before its flag rose */
            begin_read(TH_RAM, MLX90640_RAM_START, th.words, 832, now);
        } else {
            th.state = TH_IDLE;
            th.next_status_us = now + STATUS_POLL_US;
        }
        break;
    case TH_RAM:
        begin_read(TH_SUBPAGE_CTRL, MLX90640_REG_CTRL1, &th.words[832], 1, now);
        break;
    case TH_SUBPAGE_CTRL:
        th.words[833] = (uint16_t)mlx90640_status_subpage(th.status);
        begin_write(TH_CLEAR, MLX90640_REG_STATUS, (uint16_t)(th.status & ~0x0008u), now);
        break;
    case TH_CLEAR:
        subpage_done(now);
        break;
    default:
        break;
    }
}

void board_thermal_poll(void)
{
    uint64_t now = time_us_64();
    int rc;
    if (th.state == TH_OFF) return;
    if (th.state == TH_IDLE) {
        if (th.refresh_pending) {
            th.refresh_pending = 0;
            begin_read(TH_CTRL_READ, MLX90640_REG_CTRL1, &th.ctrl, 1, now);
        } else if (now >= th.next_status_us) {
            begin_read(TH_STATUS, MLX90640_REG_STATUS, &th.status, 1, now);
        }
        return;
    }
    rc = mlx_xfer_poll(&th.x);
    if (rc == MLX_XFER_DONE) {
        step(now);
    } else if (rc == MLX_XFER_ERROR || now - th.started_us > XFER_TIMEOUT_US) {
        th.bus_errors++;
        i2c_setup();
        if (th.state == TH_CTRL_READ || th.state == TH_CTRL_WRITE) th.refresh_pending = 1;
        th.state = TH_IDLE;
        th.subpages = 0;
        th.next_status_us = now + RETRY_US;
    }
}

/* ---- HAL callbacks ------------------------------------------------------------------------------- */
static int hal_thermal_configure(void *ctx, float *rate_hz)
{
    float actual;
    int adjusted;
    (void)ctx;
    /* Applied by the state machine between transfers: the I2C FIFO has one owner. */
    th.refresh_code = mlx90640_refresh_code(*rate_hz, &actual);
    th.refresh_pending = 1;
    adjusted = actual != *rate_hz;
    *rate_hz = actual;
    return adjusted;
}

static int hal_thermal_read(void *ctx, uint16_t *pixels, uint64_t *capture_us)
{
    (void)ctx;
    if (!th.frame_ready) return 0;
    memcpy(pixels, th.frame, sizeof th.frame);
    *capture_us = th.frame_capture_us;
    th.frame_ready = 0;
    return 1;
}

int board_thermal_init(fb_hal_t *hal, fb_device_info_t *info)
{
    uint8_t reg[2] = {(uint8_t)(MLX90640_REG_STATUS >> 8), (uint8_t)MLX90640_REG_STATUS}, val[2];
    int rc;
    i2c_setup();
    gpio_set_function(PIN_I2C_SDA, GPIO_FUNC_I2C);
    gpio_set_function(PIN_I2C_SCL, GPIO_FUNC_I2C);
    gpio_pull_up(PIN_I2C_SDA);
    gpio_pull_up(PIN_I2C_SCL);
    th.state = TH_OFF;
    /* Is it there? One blocking status read (boot only). */
    if (i2c_write_blocking(MLX_I2C, MLX90640_I2C_ADDR, reg, 2, true) != 2 ||
        i2c_read_blocking(MLX_I2C, MLX90640_I2C_ADDR, val, 2, false) != 2) {
        return 0;
    }
    info->thermal_width = MLX90640_WIDTH;
    info->thermal_height = MLX90640_HEIGHT;
    info->thermal_scale = 0.01f; /* centikelvin, see mlx90640_celsius_to_raw */
    info->thermal_offset = 0.0f;
    rc = board_mlx90640_init();
    if (rc != 0) {
        strcpy(info->thermal_model, "MLX90640-nocal");
        th.note = rc == BOARD_MLX90640_NO_CALIBRATION
                      ? "no thermal calibration: MLX90640 found, but this firmware was built without "
                        "its temperature calculation (-DMLX90640_CALC); thermal stream off"
                      : "no thermal calibration: reading the MLX90640 EEPROM failed; thermal stream off";
        return 1;
    }
    strcpy(info->thermal_model, "MLX90640");
    info->sensors |= FB_STREAM_THERMAL;
    hal->thermal_configure = hal_thermal_configure;
    hal->thermal_read = hal_thermal_read;
    i2c_setup(); /* the integrator's EEPROM reads may have left the target or FIFOs changed */
    th.state = TH_IDLE;
    return 1;
}

const char *board_thermal_note(void) { return th.note; }
