//! `--title-en` and `--title-ru`: the two-language titles of meetings, groups, drafts and
//! threads, as the commands that create and change them take them and print them.

use crate::workspace::titles::Titles;

/// A title in each working language.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TitleArgs {
    /// The title in English (for a group its name, for a thread its subject); "" clears it in
    /// an update.
    #[arg(long, value_name = "TITLE")]
    pub title_en: Option<String>,
    /// The title in Russian; "" clears it in an update.
    #[arg(long, value_name = "TITLE")]
    pub title_ru: Option<String>,
}

impl TitleArgs {
    /// As the API takes them.
    pub fn titles(&self) -> Titles {
        Titles { title_en: self.title_en.clone(), title_ru: self.title_ru.clone() }
    }
}

/// One line for a terminal: see [`Titles::line`].
pub fn line(own: &str, t: &Titles) -> String {
    t.line(own)
}
