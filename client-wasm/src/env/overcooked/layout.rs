//! Overcooked kitchens, parsed from text grids in the notation of the Overcooked-AI layouts:
//! `X` counter, `O` onion dispenser, `D` dish dispenser, `P` pot, `S` serving window, space
//! floor, `1` to `4` the players' starting cells (floor). A kitchen has as many chefs as
//! starting cells: 2 to 4.

/// The classic two-chef layouts of the Overcooked-AI benchmark.
pub const CLASSIC: [(&str, &str); 5] = [
    ("cramped_room", "XXPXX\nO  2O\nX1  X\nXDXSX"),
    ("asymmetric_advantages", "XXXXXXXXX\nO XSXOX S\nX   P 1 X\nX2  P   X\nXXXDXDXXX"),
    ("coordination_ring", "XXXPX\nX 1 P\nD2X X\nO   X\nXOSXX"),
    ("forced_coordination", "XXXPX\nO X1P\nO2X X\nD X X\nXXXSX"),
    ("counter_circuit", "XXXPPXXX\nX      X\nD XXXX S\nX2    1X\nXXXOOXXX"),
];

/// rollgym's kitchens for groups: three chefs sharing two pots, four chefs in an open kitchen
/// with two of everything.
pub const GROUP: [(&str, &str); 2] = [
    ("wide_room_3", "XXPXPXX\nO  1  O\nX2   3X\nXDXSXDX"),
    ("open_kitchen_4", "XXXPPXXX\nO1    2O\nX      S\nD3    4X\nXXSXXDXX"),
];

/// Every built-in layout, two-chef ones first.
pub fn built_in() -> impl Iterator<Item = (&'static str, &'static str)> {
    CLASSIC.into_iter().chain(GROUP)
}

/// The most chefs a kitchen may have.
pub const MAX_CHEFS: usize = 4;

/// One cell of the kitchen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tile {
    Floor,
    Counter,
    OnionDispenser,
    DishDispenser,
    /// The index of the pot in the kitchen's pot list.
    Pot(u8),
    Serving,
}

/// A cell position, `(column, row)`.
pub type Pos = (u8, u8);

/// A parsed kitchen: its fixed terrain and where the players start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub name: String,
    pub width: u8,
    pub height: u8,
    tiles: Vec<Tile>,
    pub starts: Vec<Pos>,
    pub num_pots: u8,
}

/// Why a layout text is not a kitchen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("unknown layout {0:?}; known layouts: {known}", known = built_in().map(|(n, _)| n).collect::<Vec<_>>().join(", "))]
    Unknown(String),
    #[error("layout is empty")]
    Empty,
    #[error("layout rows have different lengths")]
    Ragged,
    #[error("layout is larger than 32x32")]
    TooLarge,
    #[error("unknown tile {0:?}")]
    BadTile(char),
    #[error("layout needs players 1 to N (2 to 4 of them), each exactly once")]
    Players,
}

impl Layout {
    /// One of the built-in layouts ([`CLASSIC`], [`GROUP`]) by name.
    pub fn classic(name: &str) -> Result<Self, LayoutError> {
        let (name, grid) = built_in()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| LayoutError::Unknown(name.to_owned()))?;
        Self::parse(name, grid)
    }

    pub fn parse(name: &str, grid: &str) -> Result<Self, LayoutError> {
        let rows: Vec<&str> = grid.lines().collect();
        let width = rows.first().map(|r| r.chars().count()).ok_or(LayoutError::Empty)?;
        if width == 0 {
            return Err(LayoutError::Empty);
        }
        if rows.iter().any(|r| r.chars().count() != width) {
            return Err(LayoutError::Ragged);
        }
        if width > 32 || rows.len() > 32 {
            return Err(LayoutError::TooLarge);
        }
        let mut tiles = Vec::with_capacity(width * rows.len());
        let mut starts = [None; MAX_CHEFS];
        let mut num_pots = 0u8;
        for (y, row) in rows.iter().enumerate() {
            for (x, c) in row.chars().enumerate() {
                let tile = match c {
                    ' ' => Tile::Floor,
                    'X' => Tile::Counter,
                    'O' => Tile::OnionDispenser,
                    'D' => Tile::DishDispenser,
                    'S' => Tile::Serving,
                    'P' => {
                        num_pots += 1;
                        Tile::Pot(num_pots - 1)
                    }
                    '1'..='4' => {
                        let slot = &mut starts[usize::from(c as u8 - b'1')];
                        if slot.replace((x as u8, y as u8)).is_some() {
                            return Err(LayoutError::Players);
                        }
                        Tile::Floor
                    }
                    other => return Err(LayoutError::BadTile(other)),
                };
                tiles.push(tile);
            }
        }
        // Players 1..=n, none missing in between.
        let count = starts.iter().take_while(|s| s.is_some()).count();
        if count < 2 || starts[count..].iter().any(Option::is_some) {
            return Err(LayoutError::Players);
        }
        Ok(Self {
            name: name.to_owned(),
            width: width as u8,
            height: rows.len() as u8,
            tiles,
            starts: starts.into_iter().flatten().collect(),
            num_pots,
        })
    }

    /// The tile at `pos`; outside the grid counts as a counter (a wall).
    pub fn tile(&self, pos: Pos) -> Tile {
        self.index(pos).map_or(Tile::Counter, |i| self.tiles[i])
    }

    pub fn index(&self, (x, y): Pos) -> Option<usize> {
        (x < self.width && y < self.height)
            .then(|| usize::from(y) * usize::from(self.width) + usize::from(x))
    }

    pub fn cells(&self) -> usize {
        self.tiles.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders a layout back to its grid, players included: a golden test of the parser.
    fn unparse(layout: &Layout) -> String {
        let mut rows = Vec::new();
        for y in 0..layout.height {
            let mut row = String::new();
            for x in 0..layout.width {
                let start = layout.starts.iter().position(|s| *s == (x, y));
                let c = match layout.tile((x, y)) {
                    _ if start.is_some() => char::from(b'1' + start.unwrap_or(0) as u8),
                    Tile::Floor => ' ',
                    Tile::Counter => 'X',
                    Tile::OnionDispenser => 'O',
                    Tile::DishDispenser => 'D',
                    Tile::Pot(_) => 'P',
                    Tile::Serving => 'S',
                };
                row.push(c);
            }
            rows.push(row);
        }
        rows.join("\n")
    }

    #[test]
    fn built_in_layouts_parse_and_round_trip() {
        for (name, grid) in built_in() {
            let layout = Layout::classic(name).expect(name);
            assert_eq!(unparse(&layout), grid, "{name}");
            assert!(layout.num_pots >= 1, "{name} has a pot");
        }
        let chefs: Vec<usize> =
            built_in().map(|(n, _)| Layout::classic(n).map_or(0, |l| l.starts.len())).collect();
        assert_eq!(chefs, [2, 2, 2, 2, 2, 3, 4]);
    }

    #[test]
    fn golden_cramped_room() {
        let l = Layout::classic("cramped_room").expect("parse");
        assert_eq!((l.width, l.height), (5, 4));
        assert_eq!(l.starts, vec![(1, 2), (3, 1)]);
        assert_eq!(l.tile((2, 0)), Tile::Pot(0));
        assert_eq!(l.tile((0, 1)), Tile::OnionDispenser);
        assert_eq!(l.tile((1, 3)), Tile::DishDispenser);
        assert_eq!(l.tile((3, 3)), Tile::Serving);
        assert_eq!(l.tile((9, 9)), Tile::Counter, "outside is a wall");
    }

    #[test]
    fn golden_counts() {
        let pots: Vec<(String, u8)> = CLASSIC
            .iter()
            .map(|(n, _)| (n.to_string(), Layout::classic(n).expect("parse").num_pots))
            .collect();
        let expected = [
            ("cramped_room", 1),
            ("asymmetric_advantages", 2),
            ("coordination_ring", 2),
            ("forced_coordination", 2),
            ("counter_circuit", 2),
        ];
        assert_eq!(pots, expected.map(|(n, p)| (n.to_string(), p)));
    }

    #[test]
    fn bad_layouts_are_errors() {
        assert_eq!(Layout::parse("x", ""), Err(LayoutError::Empty));
        assert_eq!(Layout::parse("x", "XX\nX"), Err(LayoutError::Ragged));
        assert_eq!(Layout::parse("x", "X1Q2"), Err(LayoutError::BadTile('Q')));
        assert_eq!(Layout::parse("x", "X1 X"), Err(LayoutError::Players));
        assert_eq!(Layout::parse("x", "X12 4X"), Err(LayoutError::Players), "3 is missing");
        assert_eq!(Layout::parse("x", "X121X"), Err(LayoutError::Players), "1 twice");
        assert_eq!(Layout::parse("x", "X1234 5X"), Err(LayoutError::BadTile('5')), "four at most");
        let err = Layout::classic("kitchen").expect_err("unknown").to_string();
        assert!(err.contains("open_kitchen_4"), "{err}");
        assert!(matches!(Layout::classic("kitchen"), Err(LayoutError::Unknown(_))));
    }
}
