// Coins: a complete rollgym environment in JavaScript. Two players on a 9 × 9 grid race for a
// coin; whoever reaches it scores, and a new coin appears where a seeded generator says.
// Everything that decides the future is in the state bytes, and step() uses nothing else.

export function coins() {
  const SIZE = 9;
  // x0, y0, x1, y1, coin x, coin y, score 0, score 1, then the generator's 4 bytes.
  let s = new Uint8Array(12);
  const random = () => {
    // xorshift32 over bytes 8..11 of the state.
    const view = new DataView(s.buffer);
    let r = view.getUint32(8, true);
    r ^= r << 13; r ^= r >>> 17; r ^= r << 5;
    view.setUint32(8, r >>> 0, true);
    return r >>> 0;
  };
  const placeCoin = () => {
    do { s[4] = random() % SIZE; s[5] = random() % SIZE; }
    while ((s[4] === s[0] && s[5] === s[1]) || (s[4] === s[2] && s[5] === s[3]));
  };
  const MOVES = [[0, 0], [0, -1], [0, 1], [-1, 0], [1, 0]]; // stay, up, down, left, right

  return {
    name: 'coins',
    version: '1',
    numPlayers: 2,
    numActions: 5,
    defaultAction: 0,
    actionNames: ['stay', 'up', 'down', 'left', 'right'],
    viewWidth: SIZE,
    viewHeight: SIZE,
    keys: { ArrowUp: 1, w: 1, ArrowDown: 2, s: 2, ArrowLeft: 3, a: 3, ArrowRight: 4, d: 4 },
    help: 'move: arrow keys or WASD · reach the coin first',
    reset(seed) {
      s = new Uint8Array([0, 0, SIZE - 1, SIZE - 1, 0, 0, 0, 0, 0, 0, 0, 0]);
      new DataView(s.buffer).setUint32(8, seed || 1, true);
      placeCoin();
    },
    step(actions) {
      const rewards = [0, 0];
      actions.forEach((action, p) => {
        const [dx, dy] = MOVES[action] ?? MOVES[0];
        s[2 * p] = Math.min(SIZE - 1, Math.max(0, s[2 * p] + dx));
        s[2 * p + 1] = Math.min(SIZE - 1, Math.max(0, s[2 * p + 1] + dy));
      });
      for (const p of [0, 1]) {
        if (s[2 * p] === s[4] && s[2 * p + 1] === s[5]) {
          rewards[p] = 1;
          s[6 + p] += 1;
          placeCoin();
        }
      }
      return { rewards, terminated: false, info: { 'coins.0': s[6], 'coins.1': s[7] } };
    },
    getState: () => s.slice(),
    setState(bytes) { s = bytes.slice(); },
    render(ctx, view) {
      ctx.fillStyle = '#eef3e8';
      ctx.fillRect(0, 0, SIZE, SIZE);
      ctx.fillStyle = '#f0b428';
      ctx.beginPath(); ctx.arc(s[4] + 0.5, s[5] + 0.5, 0.3, 0, 2 * Math.PI); ctx.fill();
      ['#346edc', '#28a05a'].forEach((color, p) => {
        ctx.fillStyle = color;
        ctx.fillRect(s[2 * p] + 0.1, s[2 * p + 1] + 0.1, 0.8, 0.8);
        if (p === view.playerIndex) {
          ctx.strokeStyle = '#1d1d1f'; ctx.lineWidth = 0.08;
          ctx.strokeRect(s[2 * p] + 0.05, s[2 * p + 1] + 0.05, 0.9, 0.9);
        }
      });
    },
  };
}
