/* Non-blocking MLX90640 register transfers over a FIFO-based I2C controller (the RP2040's
 * DW_apb_i2c). A 1,664-byte subpage takes ~15 ms on the wire at 1 MHz; instead of waiting for it,
 * mlx_xfer_poll() does a bounded amount of work (at most one FIFO's worth of commands and of
 * received bytes) and returns, so the main loop keeps its timing. Pure logic over mlx_i2c_ops_t,
 * unit-tested on the host against a simulated controller. */
#ifndef MLX90640_XFER_H
#define MLX90640_XFER_H
#include <stddef.h>
#include <stdint.h>

/* Command word bits, as in the controller's IC_DATA_CMD register. */
#define MLX_I2C_CMD_READ 0x100u
#define MLX_I2C_CMD_STOP 0x200u
#define MLX_I2C_CMD_RESTART 0x400u
#define MLX_I2C_FIFO_DEPTH 16u /* read commands in flight never exceed the receive FIFO */

typedef struct {
    void *ctx;
    size_t (*tx_room)(void *ctx);          /* command slots free in the transmit FIFO */
    void (*push)(void *ctx, uint16_t cmd); /* one command word: data byte | MLX_I2C_CMD_* */
    size_t (*rx_count)(void *ctx);         /* received bytes waiting */
    uint8_t (*pop)(void *ctx);
    int (*aborted)(void *ctx);             /* nonzero once after a NACK / lost arbitration */
} mlx_i2c_ops_t;

enum { MLX_XFER_BUSY = 0, MLX_XFER_DONE = 1, MLX_XFER_ERROR = -1 };

typedef struct {
    const mlx_i2c_ops_t *ops;
    uint16_t *dst;       /* read: words are stored here (big-endian on the wire) */
    uint16_t cmds[4];    /* the address (and, for a write, the value) bytes */
    size_t ncmds;        /* leading write commands */
    size_t nreads;       /* bytes to read (2 per word) */
    size_t sent;         /* commands pushed so far (writes first, then reads) */
    size_t got;          /* bytes received */
    int state;
} mlx_xfer_t;

/* Start reading `words` 16-bit words from register address reg into dst. */
void mlx_xfer_start_read(mlx_xfer_t *x, const mlx_i2c_ops_t *ops, uint16_t reg, uint16_t *dst,
                         size_t words);
/* Start writing one word. */
void mlx_xfer_start_write(mlx_xfer_t *x, const mlx_i2c_ops_t *ops, uint16_t reg, uint16_t value);
/* Advance; returns MLX_XFER_BUSY, MLX_XFER_DONE or MLX_XFER_ERROR (the bus aborted). */
int mlx_xfer_poll(mlx_xfer_t *x);
#endif
