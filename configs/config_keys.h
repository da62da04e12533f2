// The recipe key reference, generated from the schema so it cannot drift from what the
// reader accepts: `linea config --keys`, committed as docs/recipe_keys.md.
#pragma once
#include <string>

namespace linea {

// Markdown: a table per section with every key's dotted name, type (enums with their
// values), default and description.
std::string recipe_key_reference();

}  // namespace linea
