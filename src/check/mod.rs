//! `check`: the deployment lessons as rules over manifests, Dockerfiles, contexts and built images.
