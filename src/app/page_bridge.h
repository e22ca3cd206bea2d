// The page API's side in the module: the exported cd_app_* functions (page_bridge.cpp) that
// web/page_api.js calls, and the page-level state published with every frame.
#pragma once

#include <string>

// window.celldropShell.page: the image's identity, errors, the share link's badge, the parameters,
// the object table and the rectangles of named controls, as one JSON object.
std::string page_state_json();
