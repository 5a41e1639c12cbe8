//! Rendering any figure to PNG (fonts embedded in the binary) or SVG, and writing files
//! atomically.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

use crate::error::{Error, Result};

/// DejaVu Sans Condensed (Bitstream Vera licence, `fonts/LICENSE-DejaVu.txt`): PNG text is
/// drawn with it, so rendering needs no system font.
static FONT: &[u8] = include_bytes!("../fonts/DejaVuSansCondensed.ttf");

/// The font family every figure asks for.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the embedded font with plotters, once per process.
pub(crate) fn register_font() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .unwrap_or_else(|_| unreachable!("the embedded DejaVu font parses"));
        plotters::style::register_font(FAMILY, FontStyle::Bold, FONT)
            .unwrap_or_else(|_| unreachable!("the embedded DejaVu font parses"));
    });
}

/// A figure that draws itself on any plotters backend.
pub trait Figure {
    /// Short name used in error messages and as the default file stem.
    const NAME: &'static str;

    /// Pixel size (width, height) of the figure.
    fn size(&self) -> (u32, u32);

    /// Draws the figure on `root`, whose size is [`Figure::size`].
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Turns a plotters error into ours.
pub(crate) fn draw_err<E: std::error::Error>(figure: &'static str) -> impl Fn(E) -> Error {
    move |e| Error::Draw {
        figure,
        message: e.to_string(),
    }
}

/// Renders `fig` as PNG bytes (8-bit RGB).
pub fn to_png<F: Figure>(fig: &F) -> Result<Vec<u8>> {
    register_font();
    let (w, h) = fig.size();
    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    {
        let root =
            GlyphBackend(BitMapBackend::with_buffer(&mut pixels, (w, h))).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err(F::NAME))?;
        fig.draw(&root)?;
        root.present().map_err(draw_err(F::NAME))?;
    }
    encode_png(F::NAME, &pixels, w, h)
}

fn encode_png(figure: &'static str, pixels: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let enc = |e: png::EncodingError| Error::Encode {
        figure,
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(enc)?;
    writer.write_image_data(pixels).map_err(enc)?;
    writer.finish().map_err(enc)?;
    Ok(out)
}

/// Renders `fig` as an SVG document (text stays text, in the `sans-serif` family).
pub fn to_svg<F: Figure>(fig: &F) -> Result<String> {
    register_font();
    let size = fig.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err(F::NAME))?;
        fig.draw(&root)?;
        root.present().map_err(draw_err(F::NAME))?;
    }
    Ok(svg)
}

/// A figure rendered in both formats.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// File stem (`heatmaps`, `graph`, ...).
    pub stem: String,
    /// PNG bytes.
    pub png: Vec<u8>,
    /// SVG document.
    pub svg: String,
    /// Pixel size.
    pub size: (u32, u32),
}

impl Rendered {
    /// Renders `fig` as PNG and SVG under the file stem `stem`.
    pub fn of<F: Figure>(fig: &F, stem: &str) -> Result<Rendered> {
        Ok(Rendered {
            stem: stem.to_string(),
            png: to_png(fig)?,
            svg: to_svg(fig)?,
            size: fig.size(),
        })
    }

    /// Writes `STEM.png` and `STEM.svg` into `dir` (each through a temporary file renamed
    /// into place) and returns their paths.
    pub fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf)> {
        let png = dir.join(format!("{}.png", self.stem));
        let svg = dir.join(format!("{}.svg", self.stem));
        write_atomic(&png, &self.png)?;
        write_atomic(&svg, self.svg.as_bytes())?;
        Ok((png, svg))
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it into place: a failed
/// or interrupted write never leaves half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |action: &'static str| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            path,
            action,
            source,
        }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(io("create"))?;
        f.write_all(bytes).map_err(io("write"))?;
        f.sync_all().map_err(io("write"))?;
        std::fs::rename(&tmp, path).map_err(io("rename into place"))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The embedded font, parsed once.
fn font() -> &'static FontRef<'static> {
    static PARSED: OnceLock<FontRef<'static>> = OnceLock::new();
    PARSED.get_or_init(|| {
        FontRef::try_from_slice(FONT).unwrap_or_else(|_| unreachable!("the embedded font parses"))
    })
}

/// Lays out `text` at `size` px: for every covered pixel `(x, y, coverage)` relative to the
/// top-left corner of the text box, and the box's size.
fn rasterize(text: &str, size: f64, mut pixel: impl FnMut(i32, i32, f32)) -> (i32, i32) {
    let font = font().as_scaled(PxScale::from(size as f32));
    let ascent = font.ascent();
    let mut caret = 0.0f32;
    let mut prev = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            caret += font.kern(p, id);
        }
        let glyph = id.with_scale_and_position(font.scale(), ab_glyph::point(caret, ascent));
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline
                .draw(|x, y, cov| pixel(b.min.x as i32 + x as i32, b.min.y as i32 + y as i32, cov));
        }
        caret += font.h_advance(id);
        prev = Some(id);
    }
    (caret.ceil() as i32, (ascent - font.descent()).ceil() as i32)
}

/// The bitmap backend with text drawn from the embedded font directly. (plotters 0.3.7's
/// own ab_glyph path drops each glyph's left side bearing, which opens gaps after narrow
/// glyphs such as `1` or `i`.)
struct GlyphBackend<'a>(BitMapBackend<'a>);

impl DrawingBackend for GlyphBackend<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }
    fn ensure_prepared(&mut self) -> std::result::Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.ensure_prepared()
    }
    fn present(&mut self) -> std::result::Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.present()
    }
    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> std::result::Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> std::result::Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_line(from, to, style)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> std::result::Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> std::result::Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_path(path, style)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> std::result::Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.draw_circle(center, radius, style, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> std::result::Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.fill_polygon(vert, style)
    }
    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        (iw, ih): (u32, u32),
        src: &[u8],
    ) -> std::result::Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.0.blit_bitmap(pos, (iw, ih), src)
    }
    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> std::result::Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let (w, h) = rasterize(text, style.size(), |_, _, _| {});
        Ok((w.max(0) as u32, h.max(0) as u32))
    }
    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> std::result::Result<(), DrawingErrorKind<Self::ErrorType>> {
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let mut covered = Vec::new();
        let (width, height) = rasterize(text, style.size(), |x, y, c| covered.push((x, y, c)));
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0,
            HPos::Right => -width,
            HPos::Center => -width / 2,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0,
            VPos::Center => -height / 2,
            VPos::Bottom => -height,
        };
        let trans = style.transform();
        let (w, h) = self.get_size();
        for (x, y, c) in covered {
            let (x, y) = trans.transform(x + dx, y + dy);
            let (x, y) = (pos.0 + x, pos.1 + y);
            if x >= 0 && x < w as i32 && y >= 0 && y < h as i32 && c > 0.0 {
                self.0.draw_pixel(
                    (x, y),
                    BackendColor {
                        alpha: colour.alpha * f64::from(c.min(1.0)),
                        rgb: colour.rgb,
                    },
                )?;
            }
        }
        Ok(())
    }
}
