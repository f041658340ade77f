//! The colours of the picture and the page: one per kind of region, chosen to stay apart for colour-blind eyes.
//!
//! The colours were picked by farthest-point sampling over an sRGB grid,
//! measuring each pair by the CIEDE2000 difference under normal vision,
//! protanopia and deuteranopia (Machado, Oliveira and Fernandes 2009, full
//! severity) and keeping the worst of the three; the test below checks that
//! every pair stays at least 7 apart.

/// Free RAM.
pub const FREE: &str = "#b8e0b0";

/// Every kind name the page and picture colour, with its colour.
pub const KINDS: [(&str, &str); 26] = [
    ("low-memory", "#606060"),
    ("firmware", "#604060"),
    ("kernel", "#c04000"),
    ("initrd", "#e0a0c0"),
    ("device-tree-blob", "#e0e080"),
    ("bitmap", "#602080"),
    ("page-tables", "#2020c0"),
    ("trampoline", "#00e0e0"),
    ("crash-kernel", "#804080"),
    ("cma", "#a0c060"),
    ("node-data", "#e0e000"),
    ("numa-distance", "#606040"),
    ("usemap", "#608040"),
    ("struct-pages", "#c080e0"),
    ("device-tree", "#80c0a0"),
    ("vectors", "#408060"),
    ("resource", "#80a060"),
    ("per-cpu", "#e060a0"),
    ("log-buffer", "#60a000"),
    ("hash-table", "#208080"),
    ("bounce-buffer", "#a020e0"),
    ("firmware-reserved", "#8060a0"),
    ("firmware-acpi-data", "#00a0a0"),
    ("firmware-acpi-nvs", "#a060e0"),
    ("firmware-other", "#60a080"),
    ("highmem", "#f0f0f0"),
];

/// The colour of a kind name (a region kind, `free`, or `firmware-KIND`).
pub fn colour(kind: &str) -> &'static str {
    if kind == "free" || kind == "ram" {
        return FREE;
    }
    KINDS
        .iter()
        .find(|(name, _)| *name == kind)
        .or_else(|| {
            kind.starts_with("firmware-")
                .then(|| KINDS.iter().find(|(name, _)| *name == "firmware-other"))
                .flatten()
        })
        .map_or("#909090", |(_, colour)| colour)
}

/// Whether text on `colour` should be white (the colour is dark).
pub fn wants_white_text(colour: &str) -> bool {
    parse(colour).is_some_and(|rgb| {
        let [red, green, blue] = rgb.map(linear);
        0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.2
    })
}

/// `#rrggbb` as three bytes.
fn parse(colour: &str) -> Option<[f64; 3]> {
    let hex = colour.strip_prefix('#')?;
    if hex.len() != 6 {
        return None;
    }
    let channel = |index: usize| {
        u8::from_str_radix(&hex[index..index + 2], 16)
            .ok()
            .map(f64::from)
    };
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// An sRGB byte as linear light.
fn linear(channel: f64) -> f64 {
    let value = channel / 255.0;
    if value <= 0.040_45 {
        value / 12.92
    } else {
        ((value + 0.055) / 1.055).powf(2.4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest CIEDE2000 difference between any two colours of the palette, under any of the three visions.
    const MINIMUM_DIFFERENCE: f64 = 7.0;

    /// Machado et al. 2009, severity 1.0, on linear RGB.
    const PROTANOPIA: [[f64; 3]; 3] = [
        [0.152_286, 1.052_583, -0.204_868],
        [0.114_503, 0.786_281, 0.099_216],
        [-0.003_882, -0.048_116, 1.051_998],
    ];
    const DEUTERANOPIA: [[f64; 3]; 3] = [
        [0.367_322, 0.860_646, -0.227_968],
        [0.280_085, 0.672_501, 0.047_413],
        [-0.011_820, 0.042_940, 0.968_881],
    ];
    const IDENTITY: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

    /// CIELAB (D65) of a colour seen through `vision`.
    fn lab(colour: &str, vision: &[[f64; 3]; 3]) -> [f64; 3] {
        let rgb = parse(colour).expect("a #rrggbb colour").map(linear);
        let seen: Vec<f64> = vision
            .iter()
            .map(|row| (row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2]).clamp(0.0, 1.0))
            .collect();
        let (red, green, blue) = (seen[0], seen[1], seen[2]);
        let x = (0.4124 * red + 0.3576 * green + 0.1805 * blue) / 0.950_47;
        let y = 0.2126 * red + 0.7152 * green + 0.0722 * blue;
        let z = (0.0193 * red + 0.1192 * green + 0.9505 * blue) / 1.088_83;
        let f = |t: f64| {
            if t > 0.008_856 {
                t.cbrt()
            } else {
                7.787 * t + 16.0 / 116.0
            }
        };
        [
            116.0 * f(y) - 16.0,
            500.0 * (f(x) - f(y)),
            200.0 * (f(y) - f(z)),
        ]
    }

    /// The CIEDE2000 colour difference (Sharma, Wu and Dalal 2005).
    #[allow(clippy::many_single_char_names)]
    fn ciede2000(first: [f64; 3], second: [f64; 3]) -> f64 {
        let [l1, a1, b1] = first;
        let [l2, a2, b2] = second;
        let chroma_mean = (a1.hypot(b1) + a2.hypot(b2)) / 2.0;
        let g = 0.5 * (1.0 - (chroma_mean.powi(7) / (chroma_mean.powi(7) + 25f64.powi(7))).sqrt());
        let (a1, a2) = ((1.0 + g) * a1, (1.0 + g) * a2);
        let (c1, c2) = (a1.hypot(b1), a2.hypot(b2));
        let hue = |b: f64, a: f64| b.atan2(a).to_degrees().rem_euclid(360.0);
        let (h1, h2) = (hue(b1, a1), hue(b2, a2));
        let delta_l = l2 - l1;
        let delta_c = c2 - c1;
        let mut delta_h = h2 - h1;
        if c1 * c2 == 0.0 {
            delta_h = 0.0;
        } else if delta_h > 180.0 {
            delta_h -= 360.0;
        } else if delta_h < -180.0 {
            delta_h += 360.0;
        }
        let delta_big_h = 2.0 * (c1 * c2).sqrt() * (delta_h / 2.0).to_radians().sin();
        let l_mean = (l1 + l2) / 2.0;
        let c_mean = (c1 + c2) / 2.0;
        let h_mean = if c1 * c2 == 0.0 {
            h1 + h2
        } else if (h1 - h2).abs() <= 180.0 {
            (h1 + h2) / 2.0
        } else if h1 + h2 < 360.0 {
            (h1 + h2 + 360.0) / 2.0
        } else {
            (h1 + h2 - 360.0) / 2.0
        };
        let t = 1.0 - 0.17 * (h_mean - 30.0).to_radians().cos()
            + 0.24 * (2.0 * h_mean).to_radians().cos()
            + 0.32 * (3.0 * h_mean + 6.0).to_radians().cos()
            - 0.20 * (4.0 * h_mean - 63.0).to_radians().cos();
        let theta = 30.0 * (-((h_mean - 275.0) / 25.0).powi(2)).exp();
        let r_c = 2.0 * (c_mean.powi(7) / (c_mean.powi(7) + 25f64.powi(7))).sqrt();
        let s_l = 1.0 + 0.015 * (l_mean - 50.0).powi(2) / (20.0 + (l_mean - 50.0).powi(2)).sqrt();
        let s_c = 1.0 + 0.045 * c_mean;
        let s_h = 1.0 + 0.015 * c_mean * t;
        let r_t = -(2.0 * theta).to_radians().sin() * r_c;
        ((delta_l / s_l).powi(2)
            + (delta_c / s_c).powi(2)
            + (delta_big_h / s_h).powi(2)
            + r_t * (delta_c / s_c) * (delta_big_h / s_h))
            .sqrt()
    }

    #[test]
    fn ciede2000_matches_the_published_pairs() {
        // Sharma, Wu and Dalal's test data, pairs 1 and 17.
        let first = ciede2000([50.0, 2.6772, -79.7751], [50.0, 0.0, -82.7485]);
        assert!((first - 2.0425).abs() < 1e-3, "{first}");
        let seventeen = ciede2000([50.0, 2.5, 0.0], [73.0, 25.0, -18.0]);
        assert!((seventeen - 27.1492).abs() < 1e-3, "{seventeen}");
    }

    #[test]
    fn every_pair_of_colours_stays_apart_for_colour_blind_eyes() {
        let colours: Vec<&str> = std::iter::once(FREE)
            .chain(KINDS.iter().map(|(_, colour)| *colour))
            .collect();
        for (index, first) in colours.iter().enumerate() {
            for second in &colours[index + 1..] {
                for (vision, matrix) in [
                    ("normal", &IDENTITY),
                    ("protanopia", &PROTANOPIA),
                    ("deuteranopia", &DEUTERANOPIA),
                ] {
                    let difference = ciede2000(lab(first, matrix), lab(second, matrix));
                    assert!(
                        difference >= MINIMUM_DIFFERENCE,
                        "{first} and {second} differ by {difference:.2} under {vision}"
                    );
                }
            }
        }
    }

    #[test]
    fn names_map_to_colours() {
        assert_eq!(colour("free"), FREE);
        assert_eq!(colour("kernel"), "#c04000");
        assert_eq!(colour("firmware-unusable"), "#60a080");
        assert!(wants_white_text("#2020c0"));
        assert!(!wants_white_text("#e0e000"));
    }
}
