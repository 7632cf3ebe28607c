//! `test`: starting each image locally and probing that it serves what it should.
