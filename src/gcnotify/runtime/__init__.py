"""The process edge shared by seams and handlers: environment settings, the files shipped in
the Lambda artifact, logging, and the bounded HTTP retry loop."""
