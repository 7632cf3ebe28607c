//! Rolling new images out to Amazon ECS.
