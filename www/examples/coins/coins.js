// Coins: a complete rollgym environment in JavaScript. Two to four players on a 9 × 9 grid
// race for a coin; whoever reaches it scores, and a new coin appears where a seeded generator
// says. Everything that decides the future is in the state bytes, and step() uses nothing else.

export function coins({ players = 2 } = {}) {
  const SIZE = 9;
  const CORNERS = [[0, 0], [SIZE - 1, SIZE - 1], [SIZE - 1, 0], [0, SIZE - 1]];
  // Every player's x and y, the coin's x and y, every player's score, the generator's 4 bytes.
  const COIN = 2 * players;
  const SCORE = COIN + 2;
  const RNG = SCORE + players;
  let s = new Uint8Array(RNG + 4);
  const random = () => {
    // xorshift32 over the last 4 bytes of the state.
    const view = new DataView(s.buffer);
    let r = view.getUint32(RNG, true);
    r ^= r << 13; r ^= r >>> 17; r ^= r << 5;
    view.setUint32(RNG, r >>> 0, true);
    return r >>> 0;
  };
  const range = [...Array(players).keys()];
  const onPlayer = () => range.some((p) => s[COIN] === s[2 * p] && s[COIN + 1] === s[2 * p + 1]);
  const placeCoin = () => {
    do { s[COIN] = random() % SIZE; s[COIN + 1] = random() % SIZE; } while (onPlayer());
  };
  const MOVES = [[0, 0], [0, -1], [0, 1], [-1, 0], [1, 0]]; // stay, up, down, left, right

  return {
    name: 'coins',
    version: '1',
    numPlayers: players,
    numActions: 5,
    defaultAction: 0,
    actionNames: ['stay', 'up', 'down', 'left', 'right'],
    viewWidth: SIZE,
    viewHeight: SIZE,
    keys: { ArrowUp: 1, w: 1, ArrowDown: 2, s: 2, ArrowLeft: 3, a: 3, ArrowRight: 4, d: 4 },
    help: 'move: arrow keys or WASD · reach the coin first',
    reset(seed) {
      s = new Uint8Array(RNG + 4);
      range.forEach((p) => { [s[2 * p], s[2 * p + 1]] = CORNERS[p]; });
      new DataView(s.buffer).setUint32(RNG, seed || 1, true);
      placeCoin();
    },
    step(actions) {
      const rewards = range.map(() => 0);
      actions.forEach((action, p) => {
        const [dx, dy] = MOVES[action] ?? MOVES[0];
        s[2 * p] = Math.min(SIZE - 1, Math.max(0, s[2 * p] + dx));
        s[2 * p + 1] = Math.min(SIZE - 1, Math.max(0, s[2 * p + 1] + dy));
      });
      for (const p of range) {
        if (s[2 * p] === s[COIN] && s[2 * p + 1] === s[COIN + 1]) {
          rewards[p] = 1;
          s[SCORE + p] += 1;
          placeCoin();
        }
      }
      const info = Object.fromEntries(range.map((p) => [`coins.${p}`, s[SCORE + p]]));
      return { rewards, terminated: false, info };
    },
    getState: () => s.slice(),
    setState(bytes) { s = bytes.slice(); },
    render(ctx, view) {
      ctx.fillStyle = '#eef3e8';
      ctx.fillRect(0, 0, SIZE, SIZE);
      ctx.fillStyle = '#f0b428';
      ctx.beginPath(); ctx.arc(s[COIN] + 0.5, s[COIN + 1] + 0.5, 0.3, 0, 2 * Math.PI); ctx.fill();
      ['#346edc', '#28a05a', '#c8503c', '#8c50b4'].slice(0, players).forEach((color, p) => {
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
