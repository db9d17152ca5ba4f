// Stands in for stylesheets and images that webpack would bundle.
module.exports = 'file-stub';
