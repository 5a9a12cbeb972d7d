// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ws::sync {

// How well an item's title resembles its file or folder name, for
// `ws-backend mismatched`: an item matched to the wrong title usually has a file named
// after the right one.

// Lower-case `text`, drop [...] and {...} groups, turn the punctuation WatchState strips
// (? : ( ) , | % . – - ' " + / ; & _ ! *) into spaces and collapse runs of spaces.
std::string normalize_title(std::string_view text);

// PHP similar_text's percentage: twice the characters the two strings share (longest common
// substring first, then recursively left and right of it) over their total length. 0..100.
double similar_text_percent(std::string_view a, std::string_view b);

// (1 - edit distance / longer length) * 100, by Unicode code point. 0..100.
double levenshtein_percent(std::string_view a, std::string_view b);

// The names a file system path offers for an item: a series its folder's name; a movie its
// file name, and also its folder's name when the file name does not start with it.
std::vector<std::string> path_names(std::string_view path, bool is_show);

struct TitleScore {
  double score = 0;      // best of every title/name pair, 0..100
  std::string title;     // the normalised title of the best pair
  std::string path_name; // the normalised name of the best pair
};

// Best score of `titles` against the names of `path`: 100 when a name starts with a title,
// else the better of similar_text and Levenshtein. A year "(YYYY)" in the path adds `year` to
// the titles, so "Heat (1995)" is compared as "heat 1995".
TitleScore score_title(const std::vector<std::string>& titles, int year, std::string_view path,
                       bool is_show);

} // namespace ws::sync
