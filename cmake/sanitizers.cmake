# ASan + UBSan for the debug preset. Applied to everything in the build so that
# the sanitizer runtime sees every allocation.
if(FIELDGATE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
