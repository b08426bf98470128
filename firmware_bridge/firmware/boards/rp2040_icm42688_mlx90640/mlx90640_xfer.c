#include "mlx90640_xfer.h"

static void start(mlx_xfer_t *x, const mlx_i2c_ops_t *ops, uint16_t reg)
{
    x->ops = ops;
    x->cmds[0] = (uint16_t)(reg >> 8);
    x->cmds[1] = (uint16_t)(reg & 0xFFu);
    x->ncmds = 2;
    x->nreads = 0;
    x->sent = 0;
    x->got = 0;
    x->dst = NULL;
    x->state = MLX_XFER_BUSY;
}

void mlx_xfer_start_read(mlx_xfer_t *x, const mlx_i2c_ops_t *ops, uint16_t reg, uint16_t *dst,
                         size_t words)
{
    start(x, ops, reg);
    x->dst = dst;
    x->nreads = 2 * words;
    if (words == 0) x->state = MLX_XFER_DONE;
}

void mlx_xfer_start_write(mlx_xfer_t *x, const mlx_i2c_ops_t *ops, uint16_t reg, uint16_t value)
{
    start(x, ops, reg);
    x->cmds[2] = (uint16_t)(value >> 8);
    x->cmds[3] = (uint16_t)((value & 0xFFu) | MLX_I2C_CMD_STOP);
    x->ncmds = 4;
}

/* The next command word: address/value bytes, then reads (restart first, stop last). */
static uint16_t next_cmd(const mlx_xfer_t *x)
{
    size_t r;
    if (x->sent < x->ncmds) return x->cmds[x->sent];
    r = x->sent - x->ncmds;
    return (uint16_t)(MLX_I2C_CMD_READ | (r == 0 ? MLX_I2C_CMD_RESTART : 0u) |
                      (r + 1 == x->nreads ? MLX_I2C_CMD_STOP : 0u));
}

int mlx_xfer_poll(mlx_xfer_t *x)
{
    const mlx_i2c_ops_t *ops = x->ops;
    size_t total = x->ncmds + x->nreads, room, n;
    if (x->state != MLX_XFER_BUSY) return x->state;
    if (ops->aborted(ops->ctx)) {
        x->state = MLX_XFER_ERROR;
        return x->state;
    }
    /* Take what arrived first: it frees receive space for more read commands. */
    for (n = ops->rx_count(ops->ctx); n > 0 && x->got < x->nreads; n--, x->got++) {
        uint8_t b = ops->pop(ops->ctx);
        uint16_t *w = &x->dst[x->got / 2];
        if (x->got % 2 == 0) {
            *w = (uint16_t)(b << 8); /* big-endian: high byte first */
        } else {
            *w = (uint16_t)(*w | b);
        }
    }
    for (room = ops->tx_room(ops->ctx); room > 0 && x->sent < total; room--) {
        int is_read = x->sent >= x->ncmds;
        if (is_read && (x->sent - x->ncmds) - x->got >= MLX_I2C_FIFO_DEPTH) break;
        ops->push(ops->ctx, next_cmd(x));
        x->sent++;
    }
    if (x->sent == total && x->got == x->nreads) {
        /* A write is done once its commands are queued; the caller checks aborted() later. */
        x->state = MLX_XFER_DONE;
    }
    return x->state;
}
